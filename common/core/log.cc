#include "common/core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace shareplane {
namespace {

std::string& ProgramName() {
  static std::string* name = new std::string("shareplane");
  return *name;
}
std::atomic<bool> g_debug{false};
std::atomic<int> g_min_level{static_cast<int>(LogLevel::kDebug)};
thread_local std::string t_request_id;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

}  // namespace

void SetLogProgramName(std::string name) { ProgramName() = std::move(name); }
void SetLogDebug(bool debug) { g_debug = debug; }
void SetLogMinLevel(LogLevel level) { g_min_level = static_cast<int>(level); }
bool LogEnabled(LogLevel level) {
  if (static_cast<int>(level) > g_min_level.load()) return false;
  return level != LogLevel::kDebug || g_debug.load();
}

ScopedRequestId::ScopedRequestId(std::string id)
    : previous_(std::move(t_request_id)) {
  t_request_id = std::move(id);
}
ScopedRequestId::~ScopedRequestId() { t_request_id = std::move(previous_); }

LogLine::LogLine(LogLevel level, const char* file, int line) : level_(level) {}

LogLine::~LogLine() {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  int millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                   now.time_since_epoch())
                   .count() %
               1000;
  std::tm tm;
  gmtime_r(&secs, &tm);
  std::string msg = stream_.str();
  for (char& c : msg) {
    if (c == '\n') c = ' ';
  }
  std::string out = absl::StrFormat(
      "<%d>%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s[%d]: %s%s\n",
      static_cast<int>(level_), tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
      tm.tm_hour, tm.tm_min, tm.tm_sec, millis, LevelName(level_),
      ProgramName(), getpid(),
      t_request_id.empty() ? "" : absl::StrCat("[", t_request_id, "] "), msg);
  (void)!write(STDERR_FILENO, out.data(), out.size());
}

}  // namespace shareplane
