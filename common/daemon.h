// Process plumbing shared by the daemons' main() functions.
#ifndef SHAREPLANE_COMMON_DAEMON_H_
#define SHAREPLANE_COMMON_DAEMON_H_

namespace shareplane {

// Blocks SIGINT/SIGTERM/SIGHUP in this thread, and so in every thread it
// starts afterwards. Call first thing in main().
void BlockTerminationSignals();
// Waits for one of them; returns its number.
int WaitForTerminationSignal();

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_DAEMON_H_
