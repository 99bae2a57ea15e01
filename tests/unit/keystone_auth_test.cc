// TokenValidator against a scripted Keystone: what is cached, for how long,
// and what is never cached.
#include "common/openstack/keystone_auth.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/http/http.h"

using namespace shareplane;

namespace {

std::string KeystoneTime(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
  return buf;
}

// Issues "svc-N" to the service; validates "good" (an hour), "short" (until
// `short_expiry`), 404 for anything else, 500 for "boom".
struct FakeKeystone {
  std::mutex mu;
  int issued = 0, validations = 0;
  std::string service_token;
  std::chrono::system_clock::time_point short_expiry;
  std::atomic<bool> short_expired{false};  // Keystone's verdict on "short"

  HttpResponse Handle(const HttpRequest& r) {
    std::lock_guard<std::mutex> lock(mu);
    HttpResponse out;
    if (r.method == "POST") {
      service_token = "svc-" + std::to_string(++issued);
      out.status = 201;
      out.SetHeader("X-Subject-Token", service_token);
      out.body =
          nlohmann::json{
              {"token",
               {{"expires_at", KeystoneTime(std::chrono::system_clock::now() +
                                            std::chrono::hours(1))}}}}
              .dump();
      return out;
    }
    ++validations;
    if (r.Header("X-Auth-Token") != service_token) {
      out.status = 401;
      return out;
    }
    const std::string subject = r.Header("X-Subject-Token");
    if (subject == "boom") {
      out.status = 500;
      return out;
    }
    auto expiry = subject == "good"
                      ? std::chrono::system_clock::now() + std::chrono::hours(1)
                      : short_expiry;
    if ((subject != "good" && subject != "short") ||
        (subject == "short" && short_expired)) {
      out.status = 404;
      return out;
    }
    out.status = 200;
    out.body =
        nlohmann::json{
            {"token",
             {{"user",
               {{"id", "u1"},
                {"name", "alice"},
                {"domain", {{"id", "default"}}}}},
              {"project",
               {{"id", "p1"},
                {"name", "demo"},
                {"domain", {{"id", "default"}}}}},
              {"roles", {{{"name", "member"}}, {{"name", "reader"}}}},
              {"expires_at", KeystoneTime(expiry)}}}}
            .dump();
    return out;
  }
  int Validations() {
    std::lock_guard<std::mutex> lock(mu);
    return validations;
  }
  int Issued() {
    std::lock_guard<std::mutex> lock(mu);
    return issued;
  }
};

}  // namespace

TEST_CASE("token validation caches results within their bounds", "[unit]") {
  FakeKeystone keystone;
  HttpServer server([&](const HttpRequest& r) { return keystone.Handle(r); },
                    2);
  auto port = server.Listen("127.0.0.1", 0);
  REQUIRE(port.ok());
  server.Start();
  FakeClock clock;
  TokenValidatorOptions options;
  options.service.auth_url =
      "http://127.0.0.1:" + std::to_string(*port) + "/v3";
  options.service.username = "nova";
  options.service.password = "secret";
  options.service.project_name = "service";
  options.cache_time = std::chrono::seconds(300);
  TokenValidator validator(options, clock);

  auto good = validator.Validate("good");
  REQUIRE(good.ok());
  CHECK(good->user_id == "u1");
  CHECK(good->project_id == "p1");
  CHECK(good->roles == std::vector<std::string>{"member", "reader"});
  CHECK(validator.Validate("good").ok());
  CHECK(keystone.Validations() == 1);
  // token_cache_time bounds a valid result.
  clock.Advance(std::chrono::seconds(301));
  CHECK(validator.Validate("good").ok());
  CHECK(keystone.Validations() == 2);

  // Invalid results are cached; Keystone's failures are not.
  CHECK(validator.Validate("forged").status().code() ==
        absl::StatusCode::kUnauthenticated);
  CHECK(validator.Validate("forged").status().code() ==
        absl::StatusCode::kUnauthenticated);
  CHECK(keystone.Validations() == 3);
  CHECK(validator.Validate("boom").status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(validator.Validate("boom").status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(keystone.Validations() == 5);

  // Keystone refusing the service's own token: one new token, then success.
  {
    std::lock_guard<std::mutex> lock(keystone.mu);
    keystone.service_token = "revoked";
  }
  clock.Advance(std::chrono::seconds(301));
  CHECK(validator.Validate("good").ok());
  CHECK(keystone.Issued() == 2);

  // A result is never used past the token's own expiry, however long the
  // cache time: a token with a minute to live is asked about again after
  // that minute (on the validator's clock), when Keystone says it expired.
  {
    std::lock_guard<std::mutex> lock(keystone.mu);  // the server reads it
    keystone.short_expiry =
        std::chrono::system_clock::now() + std::chrono::seconds(60);
  }
  REQUIRE(validator.Validate("short").ok());
  const int before = keystone.Validations();
  clock.Advance(std::chrono::seconds(50));
  CHECK(validator.Validate("short").ok());
  CHECK(keystone.Validations() == before);
  clock.Advance(std::chrono::seconds(11));
  keystone.short_expired = true;
  CHECK(validator.Validate("short").status().code() ==
        absl::StatusCode::kUnauthenticated);
  CHECK(keystone.Validations() == before + 1);
  server.Stop();
}
