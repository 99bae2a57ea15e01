// Any text as a configuration file: parsed as the daemons parse
// /etc/shareplane/*.conf, then read through the typed getters.
#include <cstdint>
#include <string>

#include "common/core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  shareplane::Config config;
  if (!config.ParseIni(text, "fuzz.conf").ok()) return 0;
  (void)config.GetString("DEFAULT", "transport_url", "");
  (void)config.GetInt("api", "listen_port", 8774);
  (void)config.GetBool("database", "sync_on_start", false);
  (void)config.GetDouble("DEFAULT", "ram_allocation_ratio", 1.5);
  return 0;
}
