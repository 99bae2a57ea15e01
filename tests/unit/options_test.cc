// The option table cannot drift from the code or from the sample files;
// systemd readiness.
#include "common/core/options.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "common/core/daemon.h"
#include "common/http/ops.h"

using namespace shareplane;

namespace {

std::string Read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("every option the daemons read is documented", "[unit]") {
  std::set<std::pair<std::string, std::string>> documented;
  for (const OptionDoc& o : AllOptions()) documented.insert({o.section, o.key});
  const std::regex literal(
      R"re(Get(String|Int|Bool|Double)\(\s*"([A-Za-z_]+)",\s*"([a-z_]+)")re");
  // KeystoneOptionsFrom(config, section) and the authenticator read the
  // same keys of [manila] and [keystone_authtoken].
  const std::regex variable(
      R"re(Get(String|Int|Bool|Double)\(\s*section,\s*"([a-z_]+)")re");
  int seen = 0;
  for (const char* dir :
       {"api-service", "conductor", "compute-agent", "common", "cli"}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(
             std::string(SHAREPLANE_SOURCE_DIR) + "/" + dir)) {
      if (entry.path().extension() != ".cc") continue;
      const std::string text = Read(entry.path());
      for (std::sregex_iterator it(text.begin(), text.end(), literal), end;
           it != end; ++it) {
        ++seen;
        INFO(entry.path().string() << ": [" << (*it)[2] << "] " << (*it)[3]);
        CHECK(documented.count({(*it)[2], (*it)[3]}) == 1);
      }
      for (std::sregex_iterator it(text.begin(), text.end(), variable), end;
           it != end; ++it) {
        ++seen;
        INFO(entry.path().string() << ": " << (*it)[2]);
        CHECK((documented.count({"manila", (*it)[2]}) +
               documented.count({"keystone_authtoken", (*it)[2]})) >= 1);
      }
    }
  }
  CHECK(seen > 60);
}

TEST_CASE("the sample configuration files are generated", "[unit]") {
  for (const std::string& file : SampleConfigFiles()) {
    INFO("deploy/etc/shareplane/" << file
                                  << ".conf differs from `shareplane-manage "
                                     "config sample "
                                  << file << "`");
    CHECK(Read(std::string(SHAREPLANE_SOURCE_DIR) + "/deploy/etc/shareplane/" +
               file + ".conf") == SampleConfig(file));
  }
}

TEST_CASE("daemons tell systemd they are ready through NOTIFY_SOCKET",
          "[unit]") {
  const std::string path = std::filesystem::temp_directory_path().string() +
                           "/notify-" + std::to_string(getpid());
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  NotifySystemd("READY=1");
  unsetenv("NOTIFY_SOCKET");
  NotifySystemd("STOPPING=1");  // no socket: nothing happens
  char buf[64] = {};
  const ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
  CHECK(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0) == "READY=1");
  CHECK(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0);
  close(fd);
  std::filesystem::remove(path);
}
