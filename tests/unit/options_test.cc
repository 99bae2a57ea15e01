// The option table cannot drift from the code or from the sample files.
#include "common/options.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

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
