// A loopback TCP forwarder, for tests that make a backend disappear and come
// back (e.g. PostgreSQL behind a port the daemon was configured with).
#ifndef SHAREPLANE_TESTS_SUPPORT_TCP_PROXY_H_
#define SHAREPLANE_TESTS_SUPPORT_TCP_PROXY_H_

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace shareplane::testing {

class TcpProxy {
 public:
  TcpProxy(int listen_port, int target_port);
  ~TcpProxy();  // Stop()
  // Listens and forwards until Stop(); Stop() closes every connection.
  void Start();
  void Stop();
  // Counts occurrences of `needle` in what clients send (e.g. a request
  // line), across reads and connections. Set before Start().
  void CountSent(std::string needle) { needle_ = std::move(needle); }
  int sent_count() const { return seen_; }

 private:
  void Pump(int client);
  int listen_port_, target_port_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::string needle_;
  std::atomic<int> seen_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> pumps_;
  std::vector<int> fds_;
};

}  // namespace shareplane::testing

#endif  // SHAREPLANE_TESTS_SUPPORT_TCP_PROXY_H_
