#include "api-service/request_schemas.h"

#include <map>

#include "common/core/json_schema.h"

namespace shareplane {
namespace {

using json = nlohmann::json;

// Nova's parameter_types.
json Name() {
  return {{"type", "string"},
          {"minLength", 1},
          {"maxLength", 255},
          {"pattern", kPatternName}};
}
json Boolean() {
  return {
      {"type", {"boolean", "string"}},
      {"enum", {true,  "True", "TRUE", "true", "1",     "ON",    "On",    "on",
                "YES", "Yes",  "yes",  false,  "False", "FALSE", "false", "0",
                "OFF", "Off",  "off",  "NO",   "No",    "no"}}};
}
json PositiveInteger() {
  return {{"type", {"integer", "string"}},
          {"pattern", kPatternDigits},
          {"minimum", 1},
          {"minLength", 1}};
}
// Flavor sizes: integers or digit strings within PostgreSQL's int.
json FlavorParam(int minimum) {
  return {{"type", {"integer", "string"}},
          {"pattern", kPatternDigits},
          {"minimum", minimum},
          {"maximum", 2147483647},
          {"minLength", 1}};
}
json Description() {
  return {{"type", {"string", "null"}}, {"minLength", 0}, {"maxLength", 255}};
}
json Metadata() {
  return {{"type", "object"},
          {"propertyNames", {{"pattern", kPatternExtraSpecKey}}},
          {"additionalProperties", {{"type", "string"}, {"maxLength", 255}}}};
}
json Object(json properties, json required = json::array()) {
  json j = {{"type", "object"},
            {"properties", std::move(properties)},
            {"additionalProperties", false}};
  if (!required.empty()) j["required"] = std::move(required);
  return j;
}
json AnyObjectOrNull() { return {{"type", {"object", "null"}}}; }

json MakeCreateServer() {
  json network = {
      {"type", "object"},
      {"properties",
       {{"fixed_ip", {{"type", "string"}}},
        {"port", {{"type", {"string", "null"}}, {"maxLength", 255}}},
        {"uuid", {{"type", "string"}}},
        {"tag", {{"type", "string"}, {"maxLength", 60}}}}},
      {"additionalProperties", false}};
  json server = Object(
      {{"name", Name()},
       {"imageRef", {{"type", "string"}, {"maxLength", 255}}},
       {"flavorRef",
        {{"type", {"string", "integer"}},
         {"minLength", 1},
         {"maxLength", 1024}}},
       {"adminPass", {{"type", "string"}, {"maxLength", 255}}},
       {"metadata", Metadata()},
       {"networks", {{"type", {"array", "string"}}, {"items", network}}},
       {"OS-DCF:diskConfig",
        {{"type", "string"}, {"enum", {"AUTO", "MANUAL"}}}},
       {"accessIPv4", {{"type", "string"}, {"format", "ipv4"}}},
       {"accessIPv6", {{"type", "string"}, {"format", "ipv6"}}},
       {"availability_zone", Name()},
       {"block_device_mapping",
        {{"type", "array"}, {"items", {{"type", "object"}}}}},
       {"block_device_mapping_v2",
        {{"type", "array"}, {"items", {{"type", "object"}}}}},
       {"config_drive", Boolean()},
       {"key_name", Name()},
       {"min_count", PositiveInteger()},
       {"max_count", PositiveInteger()},
       {"return_reservation_id", Boolean()},
       {"security_groups",
        {{"type", "array"}, {"items", Object({{"name", Name()}})}}},
       {"user_data", {{"type", "string"}, {"maxLength", 65535}}},
       {"description", Description()},
       {"tags",
        {{"type", "array"},
         {"maxItems", 50},
         {"items", {{"type", "string"}, {"minLength", 1}, {"maxLength", 60}}}}},
       {"trusted_image_certificates",
        {{"type", {"array", "null"}},
         {"maxItems", 50},
         {"items", {{"type", "string"}, {"minLength", 1}}}}},
       {"host", {{"type", "string"}, {"minLength", 1}, {"maxLength", 255}}},
       {"hypervisor_hostname",
        {{"type", "string"}, {"minLength", 1}, {"maxLength", 255}}},
       {"hostname",
        {{"type", "string"}, {"minLength", 1}, {"maxLength", 255}}}},
      {"name", "flavorRef"});
  json hints = {{"type", "object"}};
  return Object({{"server", server},
                 {"os:scheduler_hints", hints},
                 {"OS-SCH-HNT:scheduler_hints", hints}},
                {"server"});
}

json MakeAttachShare() {
  return Object(
      {{"share",
        Object({{"share_id", {{"format", "uuid"}}},
                {"tag", {{"type", "string"}, {"pattern", kPatternShareTag}}},
                // Our extension (BEYOND.md section 3): Nova's 2.97 schema
                // has no such key, so its clients never send it.
                {"access_level", {{"type", "string"}, {"enum", {"rw", "ro"}}}}},
               {"share_id"})}},
      {"share"});
}

json MakeCreateFlavor() {
  json flavor = Object({{"name", Name()},
                        {"id",
                         {{"type", {"string", "null"}},
                          {"minLength", 1},
                          {"maxLength", 255},
                          {"pattern", kPatternFlavorId}}},
                        {"ram", FlavorParam(1)},
                        {"vcpus", FlavorParam(1)},
                        {"disk", FlavorParam(0)},
                        {"OS-FLV-EXT-DATA:ephemeral", FlavorParam(0)},
                        {"swap",
                         {{"type", {"integer", "string"}},
                          {"pattern", kPatternDigits},
                          {"minimum", 0},
                          {"maximum", 2147483647}}},
                        {"rxtx_factor",
                         {{"type", {"number", "string"}},
                          {"pattern", kPatternDecimal},
                          {"minimum", 0},
                          {"exclusiveMinimum", true},
                          {"maximum", 3.40282e+38}}},
                        {"os-flavor-access:is_public", Boolean()},
                        {"description",
                         {{"type", {"string", "null"}},
                          {"minLength", 0},
                          {"maxLength", 65535}}}},
                       {"name", "ram", "vcpus", "disk"});
  return Object({{"flavor", flavor}}, {"flavor"});
}

json ExtraSpecValue() {
  return {{"type", {"string", "number", "boolean"}},
          {"minLength", 0},
          {"maxLength", 255}};
}

json MakeSetExtraSpecs() {
  return Object({{"extra_specs",
                  {{"type", "object"},
                   {"propertyNames", {{"pattern", kPatternExtraSpecKey}}},
                   {"additionalProperties", ExtraSpecValue()}}}},
                {"extra_specs"});
}

json MakeUpdateExtraSpec() {
  return {{"type", "object"},
          {"propertyNames", {{"pattern", kPatternExtraSpecKey}}},
          {"additionalProperties", ExtraSpecValue()},
          {"minProperties", 1},
          {"maxProperties", 1}};
}

const std::map<std::string, json>& Actions() {
  static const auto* actions = new std::map<std::string, json>{
      {"os-start", AnyObjectOrNull()},
      {"os-stop", AnyObjectOrNull()},
      {"reboot",
       Object({{"type",
                {{"type", "string"},
                 {"enum", {"HARD", "Hard", "hard", "SOFT", "Soft", "soft"}}}}},
              {"type"})},
      // Nova's, with "host" an FQDN-sized string.
      {"resize", Object({{"flavorRef",
                          {{"type", {"string", "integer"}}, {"minLength", 1}}},
                         {"OS-DCF:diskConfig",
                          {{"type", "string"}, {"enum", {"AUTO", "MANUAL"}}}}},
                        {"flavorRef"})},
      {"migrate",
       {{"type", {"object", "null"}},
        {"properties",
         {{"host", {{"type", {"string", "null"}}, {"maxLength", 255}}}}},
        {"additionalProperties", false}}},
      {"confirmResize", {{"type", "null"}}},
      {"revertResize", {{"type", "null"}}},
      {"evacuate",
       Object({{"host",
                {{"type", "string"}, {"minLength", 1}, {"maxLength", 255}}},
               {"adminPass", {{"type", "string"}, {"maxLength", 255}}},
               {"onSharedStorage", {{"type", {"boolean", "string"}}}},
               {"force",
                {{"type", {"boolean", "string"}},
                 {"enum", {true, false, "true", "false", "True", "False"}}}}},
              json::array())},
      // Refused with 409/501 before their arguments matter; still bounded.
      {"os-migrateLive", AnyObjectOrNull()},
      {"shelve", AnyObjectOrNull()},
      {"shelveOffload", AnyObjectOrNull()},
      {"unshelve", AnyObjectOrNull()},
      {"suspend", AnyObjectOrNull()},
      {"resume", AnyObjectOrNull()},
      // Nova's rebuild schema at 2.94..2.97, types kept loose where we do
      // not use the field (no Glance, keys or user data here).
      {"rebuild",
       Object(
           {{"imageRef",
             {{"type", "string"}, {"minLength", 1}, {"maxLength", 255}}},
            {"name",
             {{"type", "string"}, {"minLength", 1}, {"maxLength", 255}}},
            {"adminPass", {{"type", "string"}}},
            {"metadata", {{"type", "object"}}},
            {"preserve_ephemeral", {{"type", {"boolean", "string"}}}},
            {"OS-DCF:diskConfig",
             {{"type", "string"}, {"enum", {"AUTO", "MANUAL"}}}},
            {"accessIPv4", {{"type", "string"}}},
            {"accessIPv6", {{"type", "string"}}},
            {"description", {{"type", {"string", "null"}}, {"maxLength", 255}}},
            {"key_name", {{"type", {"string", "null"}}}},
            {"user_data", {{"type", {"string", "null"}}, {"maxLength", 65535}}},
            {"trusted_image_certificates", {{"type", {"array", "null"}}}},
            {"hostname", {{"type", "string"}, {"maxLength", 255}}}},
           {"imageRef"})},
  };
  return *actions;
}

}  // namespace

const json& CreateServerSchema() {
  static const auto* s = new json(MakeCreateServer());
  return *s;
}

const json& ActionEnvelopeSchema() {
  static const auto* s =
      new json{{"type", "object"}, {"minProperties", 1}, {"maxProperties", 1}};
  return *s;
}

const json* ActionSchema(const std::string& action) {
  // The whole body {"<action>": <argument>}, so messages name the action.
  static const auto* bodies = [] {
    auto* out = new std::map<std::string, json>;
    for (const auto& [name, argument] : Actions()) {
      (*out)[name] = Object({{name, argument}}, json::array({name}));
    }
    return out;
  }();
  auto it = bodies->find(action);
  return it == bodies->end() ? nullptr : &it->second;
}

const json& AttachShareSchema() {
  static const auto* s = new json(MakeAttachShare());
  return *s;
}

const json& CreateFlavorSchema() {
  static const auto* s = new json(MakeCreateFlavor());
  return *s;
}

const json& SetExtraSpecsSchema() {
  static const auto* s = new json(MakeSetExtraSpecs());
  return *s;
}

const json& UpdateExtraSpecSchema() {
  static const auto* s = new json(MakeUpdateExtraSpec());
  return *s;
}

std::vector<NamedSchema> AllRequestSchemas() {
  std::vector<NamedSchema> out = {
      {"POST /servers", &CreateServerSchema()},
      {"POST /servers/{id}/action", &ActionEnvelopeSchema()},
      {"POST /servers/{id}/shares", &AttachShareSchema()},
      {"POST /flavors", &CreateFlavorSchema()},
      {"POST /flavors/{id}/os-extra_specs", &SetExtraSpecsSchema()},
      {"PUT /flavors/{id}/os-extra_specs/{key}", &UpdateExtraSpecSchema()}};
  for (const auto& [name, argument] : Actions()) {
    out.push_back({"POST /servers/{id}/action " + name, ActionSchema(name)});
  }
  return out;
}

}  // namespace shareplane
