// Test helpers around the fixture's Keystone (tokens, identity calls,
// service-user configuration, endpoints, expired tokens) and the
// notification listener; declared in stack.h.
#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/amqp/amqp_bus.h"
#include "tests/support/stack.h"

namespace shareplane::testing {

std::string KeystoneToken(const std::string& user, const std::string& project) {
  const TestServices& ks = TestServices::Get();
  nlohmann::json body = {
      {"auth",
       {{"identity",
         {{"methods", {"password"}},
          {"password",
           {{"user",
             {{"name", user},
              {"domain", {{"id", "default"}}},
              {"password", ks.keystone_password}}}}}}},
        {"scope",
         {{"project",
           {{"name", project}, {"domain", {{"id", "default"}}}}}}}}}};
  HttpResponse r = Http("POST", ks.keystone_url + "/auth/tokens",
                        {{"Content-Type", "application/json"}}, body.dump());
  if (r.status != 201) {
    throw std::runtime_error("Keystone token for " + user + ": " + r.body);
  }
  return r.Header("X-Subject-Token");
}

nlohmann::json KeystoneCall(const std::string& method, const std::string& path,
                            const nlohmann::json& body,
                            const std::string& token) {
  HttpResponse r =
      Http(method, TestServices::Get().keystone_url + path,
           {{"Content-Type", "application/json"}, {"X-Auth-Token", token}},
           body.is_null() ? "" : body.dump());
  if (r.status >= 300) {
    throw std::runtime_error(method + " " + path + ": " + r.body);
  }
  return r.body.empty() ? nlohmann::json() : nlohmann::json::parse(r.body);
}

std::string KeystoneServiceConfig(const std::string& section,
                                  const std::string& auth_url) {
  const TestServices& ks = TestServices::Get();
  return absl::StrCat("[", section, "]\nauth_type = password\nauth_url = ",
                      auth_url.empty() ? ks.keystone_url : auth_url,
                      "\nusername = nova\npassword = ", ks.keystone_password,
                      "\nproject_name = service\n");
}

void RegisterKeystoneEndpoint(const std::string& region,
                              const std::string& type, const std::string& url) {
  const std::string admin = KeystoneToken("admin", "admin");
  HttpResponse r =
      Http("POST", TestServices::Get().keystone_url + "/regions",
           {{"Content-Type", "application/json"}, {"X-Auth-Token", admin}},
           nlohmann::json{{"region", {{"id", region}}}}.dump());
  if (r.status != 201 && r.status != 409) {
    throw std::runtime_error("Keystone region " + region + ": " + r.body);
  }
  const std::string service_id = KeystoneCall(
      "POST", "/services",
      {{"service", {{"type", type}, {"name", type + "-" + region}}}},
      admin)["service"]["id"];
  KeystoneCall("POST", "/endpoints",
               {{"endpoint",
                 {{"service_id", service_id},
                  {"interface", "public"},
                  {"region_id", region},
                  {"url", url}}}},
               admin);
}

std::string ExpiredKeystoneToken(const std::string& user,
                                 const std::string& project) {
  const TestServices& ks = TestServices::Get();
  const std::string admin = KeystoneToken("admin", "admin");
  const std::string user_id = KeystoneCall("GET", "/users?name=" + user,
                                           nullptr, admin)["users"][0]["id"];
  const std::string project_id = KeystoneCall(
      "GET", "/projects?name=" + project, nullptr, admin)["projects"][0]["id"];
  CommandResult r = RunCommand(
      "expired-token",
      {"/usr/bin/python3",
       SourcePath("tests/support/keystone_expired_token.py"),
       ks.services_dir + "/keystone/keystone.conf", user_id, project_id});
  std::string token = r.out.substr(0, r.out.find('\n'));
  if (r.exit_code != 0 || token.empty()) {
    throw std::runtime_error("keystone_expired_token.py: " + r.err);
  }
  return token;
}

namespace {

// The fixture's broker, as a client's options.
AmqpOptions Broker() {
  AmqpOptions options;
  options.url = TestServices::Get().amqp_url;
  return options;
}

// A message of event type "probe" (left out of Messages()) carrying
// `marker`.
std::string Probe(const std::string& marker) {
  return nlohmann::json{
      {"oslo.version", "2.0"},
      {"oslo.message",
       nlohmann::json{{"event_type", "probe"}, {"marker", marker}}.dump()}}
      .dump();
}

}  // namespace

std::optional<QueueCounts> InspectQueue(const std::string& queue) {
  const std::string& url = TestServices::Get().amqp_url;
  std::vector<char> buf(url.begin(), url.end());  // parsed in place
  buf.push_back('\0');
  amqp_connection_info info;
  if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK) return std::nullopt;
  amqp_connection_state_t conn = amqp_new_connection();
  std::optional<QueueCounts> out;
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  if (socket != nullptr &&
      amqp_socket_open(socket, info.host, info.port) == AMQP_STATUS_OK &&
      amqp_login(conn, info.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
                 info.user, info.password)
              .reply_type == AMQP_RESPONSE_NORMAL &&
      amqp_channel_open(conn, 1) != nullptr) {
    const amqp_queue_declare_ok_t* ok =
        amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue.c_str()),
                           /*passive=*/1, 0, 0, 0, amqp_empty_table);
    if (ok != nullptr) {
      out = QueueCounts{static_cast<int>(ok->message_count),
                        static_cast<int>(ok->consumer_count)};
      amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    }
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(conn);
  return out;
}

struct NotificationListener::State {
  std::string exchange;
  std::mutex mu;
  std::vector<nlohmann::json> messages;
  StopSignal stop;
  std::thread thread;
};

NotificationListener::NotificationListener(const std::string& exchange)
    : state_(std::make_unique<State>()) {
  State* st = state_.get();
  st->exchange = exchange;
  st->thread = std::thread([st, exchange] {
    AmqpConsumer consumer(Broker(), UniqueName("test.notifications"), exchange,
                          "versioned_notifications.*");
    consumer.Run(
        [st](const AmqpMessage& m) {
          std::lock_guard<std::mutex> lock(st->mu);
          st->messages.push_back(nlohmann::json::parse(m.body));
          return Disposition::kAck;
        },
        st->stop);
  });
  // The queue must be bound before anything is published: publish probes
  // until one arrives.
  AmqpPublisher probe(Broker());
  if (!WaitUntil([&] {
        (void)probe.PublishToExchange(exchange, "versioned_notifications.info",
                                      Probe("probe"), "probe");
        std::lock_guard<std::mutex> lock(st->mu);
        return !st->messages.empty();
      })) {
    throw std::runtime_error("notification queue was never bound");
  }
}

NotificationListener::~NotificationListener() {
  state_->stop.Stop();
  state_->thread.join();
}

std::vector<nlohmann::json> NotificationListener::Messages() {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::vector<nlohmann::json> out;
  for (const auto& m : state_->messages) {
    nlohmann::json inner =
        nlohmann::json::parse(m["oslo.message"].get<std::string>());
    // Late probes from the binding check are not notifications.
    if (inner["event_type"] != "probe") out.push_back(std::move(inner));
  }
  return out;
}

std::vector<std::string> NotificationListener::EventTypes() {
  std::vector<std::string> out;
  for (const auto& m : Messages()) out.push_back(m["event_type"]);
  return out;
}

std::vector<std::string> NotificationListener::AwaitEventTypes(
    const std::string& part, size_t count) {
  std::vector<std::string> seen;
  WaitUntil([&] {
    seen.clear();
    for (const std::string& t : EventTypes()) {
      if (t.find(part) != std::string::npos) seen.push_back(t);
    }
    return seen.size() >= count;
  });
  return seen;
}

nlohmann::json NotificationListener::Message(const std::string& event_type) {
  for (auto& m : Messages()) {
    if (m["event_type"] == event_type) return m;
  }
  return nullptr;
}

bool NotificationListener::Sync(std::chrono::milliseconds timeout) {
  const std::string marker = UniqueName("sync");
  AmqpPublisher publisher(Broker());
  if (!publisher
           .PublishToExchange(state_->exchange, "versioned_notifications.info",
                              Probe(marker), marker)
           .ok()) {
    return false;
  }
  return WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(state_->mu);
        for (const auto& m : state_->messages) {
          if (nlohmann::json::parse(m["oslo.message"].get<std::string>())
                  .value("marker", "") == marker) {
            return true;
          }
        }
        return false;
      },
      timeout);
}

}  // namespace shareplane::testing
