// shareplane-manila-emulator: the Manila v2 subset, in memory.
#include "absl/strings/str_cat.h"
#include "common/core/config.h"
#include "common/core/daemon.h"
#include "common/core/log.h"
#include "tests/manila-emulator/emulator.h"

int main(int argc, char** argv) {
  using namespace shareplane;
  BlockTerminationSignals();
  SetLogProgramName("shareplane-manila-emulator");
  auto config = Config::FromArgs(argc, argv, {});
  if (!config.ok()) {
    SP_LOG(Error) << config.status().message();
    return 2;
  }
  ManilaEmulatorOptions options;
  options.apply_delay = std::chrono::milliseconds(
      config->GetInt("DEFAULT", "apply_delay_ms", 50));
  options.nfs_export_host =
      config->GetString("DEFAULT", "nfs_export_host", "127.0.0.1");
  options.state_file = config->GetString("DEFAULT", "state_file", "");
  options.keystone_url = config->GetString("DEFAULT", "keystone_url", "");
  options.export_root = config->GetString("DEFAULT", "export_root", "");
  options.cephfs_mons =
      config->GetString("DEFAULT", "cephfs_mons", options.cephfs_mons);
  // --max_microversion=2.NN (default 2.88) plays an older Manila.
  const std::string max_version =
      config->GetString("DEFAULT", "max_microversion",
                        absl::StrCat("2.", options.max_microversion_minor));
  std::optional<int> max_minor = ParseManilaMicroversion(max_version);
  if (!max_minor) {
    SP_LOG(Error) << "--max_microversion must be 2.NN, not '" << max_version
                  << "'";
    return 2;
  }
  options.max_microversion_minor = *max_minor;
  ManilaEmulator emulator(options);
  HttpServer server([&](const HttpRequest& r) { return emulator.Handle(r); },
                    2);
  // Injected latency sleeps in the handler: many workers, so a slow
  // Manila is slow for everyone at once, as a real one would be.
  server.SetWorkerLanes([](const HttpRequest&) { return HttpLane::kDefault; },
                        64, 1, 4096);
  std::string host = config->GetString("DEFAULT", "host", "127.0.0.1");
  auto port = server.Listen(host, config->GetInt("DEFAULT", "port", 8786));
  if (!port.ok()) {
    SP_LOG(Error) << port.status().message();
    return 1;
  }
  server.Start();
  SP_LOG(Info) << "Manila emulator listening on http://" << host << ":" << *port
               << "/v2";
  int sig = WaitForTerminationSignal();
  SP_LOG(Info) << "Stopping on signal " << sig;
  server.Stop();
  return 0;
}
