// The request body schema of every compute API route that takes a body,
// after Nova's nova/api/openstack/compute/schemas/. A handler validates its
// body with ParseAndValidate(body, <schema>) before it reads a field.
#ifndef SHAREPLANE_API_SERVICE_REQUEST_SCHEMAS_H_
#define SHAREPLANE_API_SERVICE_REQUEST_SCHEMAS_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace shareplane {

// POST /servers
const nlohmann::json& CreateServerSchema();
// POST /servers/{id}/action: the body names one action (the envelope);
// then the schema of the body for that action, or nullptr for an action
// Shareplane does not know.
const nlohmann::json& ActionEnvelopeSchema();
const nlohmann::json* ActionSchema(const std::string& action);
// POST /servers/{id}/shares
const nlohmann::json& AttachShareSchema();
// POST /flavors
const nlohmann::json& CreateFlavorSchema();
// POST /flavors/{id}/os-extra_specs
const nlohmann::json& SetExtraSpecsSchema();
// PUT /flavors/{id}/os-extra_specs/{key}
const nlohmann::json& UpdateExtraSpecSchema();

// Every schema above, by route, for the tests and fuzzers that go through
// them all.
struct NamedSchema {
  std::string route;
  const nlohmann::json* schema;
};
std::vector<NamedSchema> AllRequestSchemas();

}  // namespace shareplane

#endif  // SHAREPLANE_API_SERVICE_REQUEST_SCHEMAS_H_
