#include "cli/wait.h"

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/core/retry.h"

namespace shareplane::cli {

absl::StatusOr<int> ParseWaitTimeout(const Args& args, int default_seconds) {
  int timeout_s = default_seconds;
  if (args.Has("--wait-timeout") &&
      (!absl::SimpleAtoi(args.Get("--wait-timeout"), &timeout_s) ||
       timeout_s <= 0)) {
    return absl::InvalidArgumentError(
        "--wait-timeout takes a number of seconds greater than 0");
  }
  return timeout_s;
}

absl::Status WaitFor(Ctx& c, const std::string& what,
                     const std::function<absl::StatusOr<std::string>()>& status,
                     const std::set<std::string>& done,
                     const std::set<std::string>& failed) {
  Clock& clock = *c.env.clock;
  const TimePoint start = clock.Now();
  std::string last;
  auto timeout_s = ParseWaitTimeout(c.args, c.env.wait_timeout_s);
  if (!timeout_s.ok()) return timeout_s.status();
  absl::Status s =
      PollUntil(clock, std::chrono::seconds(*timeout_s),
                std::chrono::milliseconds(c.env.wait_interval_ms), what,
                [&]() -> absl::StatusOr<bool> {
                  auto now = status();
                  if (!now.ok()) return now.status();
                  last = *now;
                  if (c.env.terminal) {
                    c.err << "\r" << what << ": "
                          << (last.empty() ? "gone" : last) << " ("
                          << std::chrono::duration_cast<std::chrono::seconds>(
                                 clock.Now() - start)
                                 .count()
                          << " s)   " << std::flush;
                  }
                  return done.count(last) > 0 || failed.count(last) > 0;
                });
  if (c.env.terminal) c.err << "\n";
  if (s.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::DeadlineExceededError(absl::StrCat(
        s.message(), " (last status: ", last.empty() ? "gone" : last, ")"));
  }
  if (!s.ok()) return s;
  if (failed.count(last)) {
    return absl::AbortedError(
        absl::StrCat("Error waiting for ", what, ": status ", last));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ServerStatus(Ctx& c, const std::string& id) {
  auto r = c.api.Call("GET", "/servers/" + id);
  if (r.status().code() == absl::StatusCode::kNotFound) return std::string();
  if (!r.ok()) return r.status();
  return (*r)["server"].value("status", "");
}

absl::StatusOr<std::string> ShareStatus(Ctx& c, const std::string& server,
                                        const std::string& share) {
  auto r = c.api.Call("GET", "/servers/" + server + "/shares/" + Path(share));
  if (r.status().code() == absl::StatusCode::kNotFound) return std::string();
  if (!r.ok()) return r.status();
  return (*r)["share"].value("status", "");
}

}  // namespace shareplane::cli
