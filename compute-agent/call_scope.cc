#include "compute-agent/call_scope.h"

namespace shareplane {
namespace {
thread_local const CallScope* current = nullptr;
}  // namespace

CallScope::CallScope(std::function<bool()> cancelled,
                     std::chrono::steady_clock::time_point deadline)
    : outer_(current), cancelled_(std::move(cancelled)), deadline_(deadline) {
  current = this;
}

CallScope::~CallScope() { current = outer_; }

bool CallCancelled() {
  return current != nullptr && current->cancelled_ && current->cancelled_();
}

std::chrono::steady_clock::time_point CallDeadline() {
  return current != nullptr ? current->deadline_
                            : std::chrono::steady_clock::time_point::max();
}

}  // namespace shareplane
