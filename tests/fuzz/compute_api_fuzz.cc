// Raw bytes through the compute API as the server reads them: the HTTP
// parser (up to four pipelined requests), then the whole REST stack:
// microversions, noauth identity, routing, every route's body schema and
// handler, in front of a database and a Manila that refuse connections.
// A crash, a sanitizer finding or an answer of 500 is a bug.
#include <cstdint>
#include <memory>

#include "api-service/authenticator.h"
#include "api-service/compute_api.h"
#include "common/core/config.h"
#include "common/core/log.h"
#include "common/http/http.h"
#include "common/openstack/openstack_settings.h"
#include "common/pg/pg_settings.h"

namespace shareplane {
namespace {

struct Api {
  Config config;
  std::unique_ptr<Database> db;
  std::unique_ptr<ManilaClient> manila;
  Policy policy = Policy::Defaults();
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<ApiDeps> deps;
  std::unique_ptr<ShareService> share_service;
  std::unique_ptr<ServerService> server_service;
  std::unique_ptr<SharesApi> shares;
  std::unique_ptr<ServersApi> servers;
  std::unique_ptr<ResourcesApi> resources;
  std::unique_ptr<ComputeApi> compute;

  Api() {
    SetLogMinLevel(LogLevel::kError);
    // Port 9 (discard) refuses on loopback: every call fails fast.
    (void)config.ParseIni(
        "[api]\nauth_strategy = noauth2\n"
        "[database]\nconnection = postgresql://127.0.0.1:9/none"
        "?connect_timeout=1\n"
        "[manila]\nendpoint = http://127.0.0.1:9/v2\n",
        "fuzz");
    db = std::make_unique<Database>(DatabaseOptionsFrom(config));
    manila = std::make_unique<ManilaClient>(ManilaOptionsFrom(config, nullptr));
    auth = std::move(*MakeAuthenticator(config));
    deps = std::make_unique<ApiDeps>(ApiDeps{*db, *manila, policy, "fuzz"});
    share_service = std::make_unique<ShareService>(*deps);
    server_service = std::make_unique<ServerService>(*deps);
    shares = std::make_unique<SharesApi>(*share_service);
    servers = std::make_unique<ServersApi>(*deps, *server_service);
    resources = std::make_unique<ResourcesApi>(*deps);
    compute =
        std::make_unique<ComputeApi>(*auth, *shares, *servers, *resources);
  }
};

}  // namespace
}  // namespace shareplane

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static shareplane::Api* api = new shareplane::Api();
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < 4 && !bytes.empty(); ++i) {
    shareplane::HttpParseResult r = shareplane::ParseHttpRequest(bytes);
    if (r.status != 0) {
      // What the server answers by itself: a 4xx, never more.
      if (r.status != -1 && (r.status < 400 || r.status > 499)) {
        __builtin_trap();
      }
      break;
    }
    shareplane::HttpResponse resp = api->compute->Handle(r.request);
    if (resp.status == 500) __builtin_trap();
    bytes.remove_prefix(r.consumed);
  }
  return 0;
}
