// The broker's settings, read the same way by every daemon on the bus.
#ifndef SHAREPLANE_COMMON_AMQP_AMQP_SETTINGS_H_
#define SHAREPLANE_COMMON_AMQP_AMQP_SETTINGS_H_

#include "common/amqp/amqp_bus.h"
#include "common/core/config.h"

namespace shareplane {

// [DEFAULT] transport_url (rabbit:// is accepted as amqp://) and
// [oslo_messaging_rabbit] ssl_ca_file, ssl_cert_file, ssl_key_file.
AmqpOptions AmqpOptionsFrom(const Config& config);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_AMQP_AMQP_SETTINGS_H_
