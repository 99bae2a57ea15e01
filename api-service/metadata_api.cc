#include "api-service/metadata_api.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/core/ids.h"
#include "common/core/json_body.h"
#include "common/core/log.h"
#include "common/pg/store.h"

namespace shareplane {
namespace {

using json = nlohmann::json;

// Versions served, oldest first; devices (and so shares) appear from
// 2016-06-30, when Nova added device metadata.
const std::vector<std::string>& Versions() {
  static const std::vector<std::string> v = {
      "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
      "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", "2025-04-04"};
  return v;
}

HttpResponse Text(int status, const std::string& body) {
  return HttpResponse{status, {{"Content-Type", "text/plain"}}, body};
}

HttpResponse Forbidden() {
  return Text(403, "403 Forbidden\n\nAccess was denied to this resource.\n");
}

HttpResponse NotFound() {
  return Text(404, "404 Not Found\n\nThe resource could not be found.\n");
}

}  // namespace

std::string MetadataSignature(const std::string& secret,
                              const std::string& instance_id) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(instance_id.data()),
       instance_id.size(), mac, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    absl::StrAppendFormat(&hex, "%02x", mac[i]);
  }
  return hex;
}

MetadataApi::MetadataApi(Database& db, std::string shared_secret)
    : db_(db), secret_(std::move(shared_secret)) {}

HttpResponse MetadataApi::Handle(const HttpRequest& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    return Text(405, "405 Method Not Allowed\n");
  }
  // Identity first: nothing is served to an unsigned caller.
  const std::string instance = req.Header("X-Instance-ID");
  const std::string signature = req.Header("X-Instance-ID-Signature");
  const std::string expected = MetadataSignature(secret_, instance);
  if (secret_.empty() || instance.empty() ||
      signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return Forbidden();
  }
  std::string path = req.path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path == "/openstack") {
    std::vector<std::string> list = Versions();
    list.push_back("latest");
    return Text(200, absl::StrJoin(list, "\n"));
  }
  const std::string prefix = "/openstack/";
  const std::string suffix = "/meta_data.json";
  if (path.rfind(prefix, 0) != 0 ||
      path.size() <= prefix.size() + suffix.size() ||
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return NotFound();
  }
  const std::string version =
      path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  const auto& versions = Versions();
  if (version != "latest" &&
      std::find(versions.begin(), versions.end(), version) == versions.end()) {
    return NotFound();
  }
  // Only a UUID names an instance (the signature proves who asked, not
  // that it is well formed).
  if (!IsUuid(instance)) return NotFound();
  std::optional<Server> server;
  std::vector<ShareMapping> mappings;
  absl::Status s = db_.Read([&](pqxx::transaction_base& w) {
    server = GetServer(w, instance);  // deleted servers are not found
    if (server) mappings = ListShareMappings(w, instance);
    return absl::OkStatus();
  });
  if (!s.ok()) {
    SP_LOG(Error) << "Metadata for " << instance << " unavailable: " << s;
    return Text(503,
                "503 Service Unavailable\n\nThe server is currently "
                "unavailable. Please try again at a later time.\n");
  }
  if (!server) return NotFound();
  const std::string tenant = req.Header("X-Tenant-ID");
  if (!tenant.empty() && tenant != server->project_id) return Forbidden();

  json doc = {{"uuid", server->uuid},
              {"name", server->name},
              {"hostname", server->name},
              {"project_id", server->project_id},
              {"availability_zone", server->availability_zone},
              {"launch_index", 0},
              {"meta", json::object()},
              {"public_keys", json::object()}};
  if (version == "latest" || version >= "2016-06-30") {
    json devices = json::array();
    for (const ShareMapping& m : mappings) {
      if (m.status == "detaching") continue;  // going away
      devices.push_back({{"type", "share"},
                         {"share_id", m.share_id},
                         {"tag", m.tag},
                         {"bus", "none"},
                         {"address", "none"}});
    }
    doc["devices"] = devices;
  }
  return HttpResponse{
      200, {{"Content-Type", "application/json"}}, DumpJson(doc)};
}

HttpResponse MetadataApi::FramingError(int status, const std::string& message) {
  const std::string request_id = NewRequestId();
  HttpResponse resp = Text(status, absl::StrCat(status, " ", message, "\n"));
  resp.SetHeader("x-openstack-request-id", request_id);
  ScopedRequestId log_id(request_id);
  SP_LOG(Info) << "Metadata: unreadable request, status " << status << ": "
               << message;
  return resp;
}

}  // namespace shareplane
