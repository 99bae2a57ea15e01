#include "tests/support/tcp_proxy.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace shareplane::testing {
namespace {
sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}
}  // namespace

TcpProxy::TcpProxy(int listen_port, int target_port)
    : listen_port_(listen_port), target_port_(target_port) {}

TcpProxy::~TcpProxy() { Stop(); }

void TcpProxy::Start() {
  stop_ = false;
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a = Loopback(listen_port_);
  bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  listen(listen_fd_, 64);
  acceptor_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      pumps_.emplace_back([this, client] { Pump(client); });
    }
  });
}

void TcpProxy::Pump(int client) {
  int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = Loopback(target_port_);
  if (connect(server, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(client);
    close(server);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fds_.push_back(client);
    fds_.push_back(server);
  }
  char buf[16384];
  std::string sent;  // the tail of what the client sent, for CountSent
  while (!stop_) {
    pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    if (poll(p, 2, 50) <= 0) continue;
    bool done = false;
    for (int i = 0; i < 2 && !done; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(p[i].fd, buf, sizeof(buf));
      if (n <= 0 || write(i == 0 ? server : client, buf, n) != n) done = true;
      if (i == 0 && n > 0 && !needle_.empty()) {
        sent.append(buf, n);
        for (size_t at; (at = sent.find(needle_)) != std::string::npos;) {
          ++seen_;
          sent.erase(0, at + needle_.size());
        }
        if (sent.size() >= needle_.size()) {
          sent.erase(0, sent.size() - needle_.size() + 1);
        }
      }
    }
    if (done) break;
  }
  shutdown(client, SHUT_RDWR);
  shutdown(server, SHUT_RDWR);
}

void TcpProxy::Stop() {
  if (listen_fd_ < 0) return;
  stop_ = true;
  acceptor_.join();
  close(listen_fd_);
  listen_fd_ = -1;
  std::vector<std::thread> pumps;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pumps.swap(pumps_);
  }
  for (auto& t : pumps) t.join();
  std::lock_guard<std::mutex> lock(mu_);
  for (int fd : fds_) close(fd);
  fds_.clear();
}

}  // namespace shareplane::testing
