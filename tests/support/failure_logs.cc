// The Catch2 listener that prints, after a failed assertion's message, the
// tail of each live Stack's daemon logs as they are at the failure
// (tests/support/failure_logs.h). Each stack's logs are printed at most once
// per section, so a loop of failing CHECKs prints them once. Compiled into
// each test executable (not test_support: a static library's member that
// nothing references is left out of the link).
#include "tests/support/failure_logs.h"

// The listener and reporter interfaces (TestEventListenerBase).
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>
#include <exception>
#include <set>
#include <string>
#include <vector>

namespace shareplane::testing {
namespace {

class FailureLogsListener : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  ~FailureLogsListener() override { Flush(); }

  void sectionStarting(Catch::SectionInfo const& info) override {
    Flush();
    TestEventListenerBase::sectionStarting(info);
    printed_.emplace_back();
  }

  void sectionEnded(Catch::SectionStats const& stats) override {
    Flush();
    if (!printed_.empty()) printed_.pop_back();
    TestEventListenerBase::sectionEnded(stats);
  }

  void testCaseEnded(Catch::TestCaseStats const& stats) override {
    Flush();
    printed_.clear();
    TestEventListenerBase::testCaseEnded(stats);
  }

  void testRunEnded(Catch::TestRunStats const& stats) override {
    Flush();
    TestEventListenerBase::testRunEnded(stats);
  }

  void assertionStarting(Catch::AssertionInfo const&) override { Flush(); }

  // Listeners hear of an assertion before the reporter prints it: the logs
  // are read now, and printed at the next event, after the failure's
  // message.
  bool assertionEnded(Catch::AssertionStats const& stats) override {
    if (stats.assertionResult.isOk()) return false;
    if (printed_.empty()) printed_.emplace_back();
    std::set<int>& printed = printed_.back();
    try {
      FailureLogs::Collect(
          [&](int key) { return printed.count(key) == 0; },
          [&](int key, const std::string& text) {
            printed.insert(key);
            pending_ +=
                "==== Daemon logs of a live test stack at the failure "
                "above (each daemon's last lines):\n";
            pending_ += text;
            if (!text.empty() && text.back() != '\n') pending_ += '\n';
            pending_ += "==== End of the stack's logs\n\n";
          });
    } catch (const std::exception& e) {
      pending_ +=
          std::string("==== Cannot read the stack's logs: ") + e.what() + "\n";
    }
    return false;
  }

 private:
  void Flush() {
    if (pending_.empty()) return;
    stream << pending_ << std::flush;
    pending_.clear();
  }

  // Per open section, innermost last: the stacks whose logs it printed.
  std::vector<std::set<int>> printed_;
  std::string pending_;
};

}  // namespace

CATCH_REGISTER_LISTENER(FailureLogsListener)

}  // namespace shareplane::testing
