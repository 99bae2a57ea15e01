// Every configuration option the daemons read, with its default and help:
// the source of the sample files in deploy/etc/shareplane/ (a unit test
// checks that every option read in the code is listed here and that the
// samples are what SampleConfig() renders, so neither can drift).
#ifndef SHAREPLANE_COMMON_CORE_OPTIONS_H_
#define SHAREPLANE_COMMON_CORE_OPTIONS_H_

#include <string>
#include <vector>

namespace shareplane {

struct OptionDoc {
  std::string file;  // sample it belongs to: shareplane, api, conductor,
                     // compute
  std::string section;
  std::string key;
  std::string default_value;  // as written in the file; "" = empty
  std::string help;
};

const std::vector<OptionDoc>& AllOptions();

// The sample deploy/etc/shareplane/<file>.conf, every option commented out
// at its default with its help above it.
std::string SampleConfig(const std::string& file);
// "shareplane", "api", "conductor", "compute".
const std::vector<std::string>& SampleConfigFiles();

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_CORE_OPTIONS_H_
