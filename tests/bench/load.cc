#include "tests/bench/load.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace shareplane::bench {
namespace {

using Steady = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::string out;
  size_t sent = 0;
  std::string in;
  Steady::time_point start;
};

// Bytes of a complete response at the front of `in`, or 0 if incomplete.
size_t CompleteResponse(const std::string& in) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  size_t len = 0;
  size_t cl = in.find("Content-Length: ");
  if (cl == std::string::npos) cl = in.find("content-length: ");
  if (cl != std::string::npos && cl < end) len = std::stoul(in.substr(cl + 16));
  return in.size() >= end + 4 + len ? end + 4 + len : 0;
}

}  // namespace

double LoadResult::Percentile(double p) const {
  if (latencies_ms.empty()) return 0;
  return latencies_ms[std::min(latencies_ms.size() - 1,
                               static_cast<size_t>(p * latencies_ms.size()))];
}

LoadResult RunLoad(int port, int connections, double seconds,
                   const std::function<std::string(long)>& request,
                   double rate) {
  int ep = epoll_create1(0);
  std::vector<Conn> conns(connections);
  long next = 0;
  LoadResult result;
  // Open loop: when each connection's next request is due.
  const auto interval = std::chrono::duration_cast<Steady::duration>(
      std::chrono::duration<double>(rate > 0 ? connections / rate : 0));
  std::vector<Steady::time_point> due(connections);
  std::vector<bool> busy(connections, false);
  auto send_next = [&](Conn& c) {
    const size_t i = &c - conns.data();
    c.out = request(next++);
    c.sent = 0;
    c.start = rate > 0 ? due[i] : Steady::now();
    busy[i] = true;
    ssize_t n = write(c.fd, c.out.data(), c.out.size());
    if (n > 0) c.sent = n;
  };
  for (int i = 0; i < connections; ++i) {
    Conn& c = conns[i];
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      throw std::runtime_error("load: cannot connect");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  }
  const auto t0 = Steady::now();
  for (int i = 0; i < connections; ++i) {
    due[i] = t0 + interval * i / connections;
    if (rate == 0) send_next(conns[i]);
  }
  const auto deadline = t0 + std::chrono::duration<double>(seconds);
  std::vector<epoll_event> events(connections);
  char buf[65536];
  while (Steady::now() < deadline) {
    auto wake = Steady::now() + std::chrono::milliseconds(100);
    if (rate > 0) {
      const auto now = Steady::now();
      for (int i = 0; i < connections; ++i) {
        if (busy[i]) continue;
        if (due[i] <= now) {
          send_next(conns[i]);
        } else {
          wake = std::min(wake, due[i]);
        }
      }
    }
    const auto wait = std::max<Steady::duration>(Steady::duration::zero(),
                                                 wake - Steady::now());
    timespec ts{static_cast<time_t>(wait.count() / 1000000000),
                static_cast<long>(wait.count() % 1000000000)};
    int n = epoll_pwait2(ep, events.data(), connections, &ts, nullptr);
    for (int e = 0; e < n; ++e) {
      Conn& c = conns[events[e].data.u32];
      ssize_t r = read(c.fd, buf, sizeof(buf));
      if (r <= 0) throw std::runtime_error("load: connection closed");
      c.in.append(buf, r);
      size_t done;
      while ((done = CompleteResponse(c.in)) > 0) {
        result.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(Steady::now() - c.start)
                .count());
        if (c.in.compare(9, 1, "2") != 0) ++result.non_2xx;
        c.in.erase(0, done);
        const size_t i = &c - conns.data();
        busy[i] = false;
        if (rate > 0) {
          due[i] += interval;
        } else {
          send_next(c);
        }
      }
    }
  }
  result.seconds = std::chrono::duration<double>(Steady::now() - t0).count();
  for (auto& c : conns) close(c.fd);
  close(ep);
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  return result;
}

}  // namespace shareplane::bench
