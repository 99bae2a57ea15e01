#include "common/amqp/amqp_settings.h"

#include "absl/strings/match.h"

namespace shareplane {

AmqpOptions AmqpOptionsFrom(const Config& config) {
  AmqpOptions o;
  std::string url = config.GetString("DEFAULT", "transport_url", o.url);
  if (absl::StartsWith(url, "rabbit://")) url = "amqp://" + url.substr(9);
  o.url = url;
  // oslo.messaging's names for the broker's TLS.
  o.ca_file = config.GetString("oslo_messaging_rabbit", "ssl_ca_file", "");
  o.cert_file = config.GetString("oslo_messaging_rabbit", "ssl_cert_file", "");
  o.key_file = config.GetString("oslo_messaging_rabbit", "ssl_key_file", "");
  return o;
}

}  // namespace shareplane
