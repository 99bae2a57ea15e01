// The gRPC call the current thread serves, so code far below the handler
// (a wait for another call of the same server, the hypervisor's shutdown
// wait) honours its caller: it gives up when the caller cancelled (the
// conductor died or hung up) and fits its waits inside the caller's
// deadline. Outside a call: no deadline, never cancelled.
#ifndef SHAREPLANE_COMPUTE_AGENT_CALL_SCOPE_H_
#define SHAREPLANE_COMPUTE_AGENT_CALL_SCOPE_H_

#include <chrono>
#include <functional>

namespace shareplane {

class CallScope {
 public:
  CallScope(std::function<bool()> cancelled,
            std::chrono::steady_clock::time_point deadline);
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  const CallScope* outer_;
  friend bool CallCancelled();
  friend std::chrono::steady_clock::time_point CallDeadline();
  std::function<bool()> cancelled_;
  std::chrono::steady_clock::time_point deadline_;
};

// Whether the caller of this thread's call gave up.
bool CallCancelled();
// The caller's deadline (time_point::max() when there is none).
std::chrono::steady_clock::time_point CallDeadline();

}  // namespace shareplane

#endif  // SHAREPLANE_COMPUTE_AGENT_CALL_SCOPE_H_
