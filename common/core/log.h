// Logging to stderr in a journald-friendly form: each line starts with the
// syslog priority prefix ("<6>") that systemd-journald understands, then the
// level, the program name, an optional request id and the message.
// Thread-safe: one write(2) per line.
#ifndef SHAREPLANE_COMMON_CORE_LOG_H_
#define SHAREPLANE_COMMON_CORE_LOG_H_

#include <sstream>
#include <string>

namespace shareplane {

enum class LogLevel { kDebug = 7, kInfo = 6, kWarning = 4, kError = 3 };

void SetLogProgramName(std::string name);
void SetLogDebug(bool debug);
// Drops lines less severe than `level` (for fuzzers and benchmarks).
void SetLogMinLevel(LogLevel level);

// Per-thread request id ("req-<uuid>") stamped on every line while set.
class ScopedRequestId {
 public:
  explicit ScopedRequestId(std::string id);
  ~ScopedRequestId();

 private:
  std::string previous_;
};

class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

bool LogEnabled(LogLevel level);

}  // namespace shareplane

#define SP_LOG(level)                                                         \
  for (bool sp_log_on_ =                                                      \
           ::shareplane::LogEnabled(::shareplane::LogLevel::k##level);        \
       sp_log_on_; sp_log_on_ = false)                                        \
  ::shareplane::LogLine(::shareplane::LogLevel::k##level, __FILE__, __LINE__) \
      .stream()

#endif  // SHAREPLANE_COMMON_CORE_LOG_H_
