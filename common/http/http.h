// HTTP message types shared by the server core (Boost.Beast) and the client
// (libcurl). No Beast or curl header leaks from here.
#ifndef SHAREPLANE_COMMON_HTTP_HTTP_H_
#define SHAREPLANE_COMMON_HTTP_HTTP_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/core/clock.h"

namespace shareplane {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  std::string query;   // after '?', undecoded; empty if none
  std::map<std::string, std::string> headers;  // keys lowercase
  std::string body;
  std::string remote_addr;

  // Header value by case-insensitive name, "" if absent.
  std::string Header(absl::string_view name) const;
  bool HasHeader(absl::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::string Header(absl::string_view name) const;
  void SetHeader(std::string name, std::string value);
};

// Decodes application/x-www-form-urlencoded query strings. Repeated keys keep
// the last value.
std::map<std::string, std::string> ParseQuery(absl::string_view query);
std::string UrlDecode(absl::string_view s);

struct HttpLimits {
  size_t max_target_bytes = 8192;   // longer request targets: 414
  size_t max_header_bytes = 16384;  // request line and headers: 431
  size_t max_body_bytes = 1 << 20;  // 413
};

// One request read from raw bytes, as the server reads it. `status` is 0
// for a complete request (in `request`, `consumed` bytes used), -1 when
// more bytes are needed, or the 4xx the server answers the bytes with
// (400 framing, 413, 414, 431; `message` says why). For tests and fuzzing
// the server's parser without sockets.
struct HttpParseResult {
  int status = -1;
  std::string message;
  HttpRequest request;
  size_t consumed = 0;
};
HttpParseResult ParseHttpRequest(absl::string_view bytes,
                                 const HttpLimits& limits = {});

// Where a request's handler runs (HttpServer::SetWorkerLanes).
enum class HttpLane {
  kInline,   // on the I/O thread: never blocks (version documents)
  kDefault,  // the worker pool (database work)
  kSlow,     // its own pool: handlers that wait on remote services
};

// An HTTP/1.1 server: keep-alive and pipelining (answers in order), a
// fixed pool of I/O threads. Without worker lanes the handler runs on the
// I/O threads; with them, on the lane's bounded pool, so a slow handler
// never stalls reading, writing or the inline requests, and a full lane
// answers 503 with Retry-After. Thread-safe handler required. A request it
// cannot read is answered by itself (400 for framing errors, 413, 414, 431, see
// HttpLimits) and the connection closed; a client that does not send a whole
// request within 30 s is disconnected; neither ties up a thread.
class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // Formats the errors the server answers by itself (4xx above, 500 for a
  // handler that threw).
  using ErrorFormatter =
      std::function<HttpResponse(int status, const std::string& message)>;
  HttpServer(Handler handler, int threads, ErrorFormatter errors = nullptr,
             HttpLimits limits = {});
  ~HttpServer();  // stops

  using Classifier = std::function<HttpLane(const HttpRequest&)>;
  // Before Start: runs handlers on worker pools, `classify` choosing the
  // lane of each request; each pool queues at most `max_queued` requests.
  void SetWorkerLanes(Classifier classify, int default_workers,
                      int slow_workers, size_t max_queued);

  // Binds host:port (port 0 picks a free one); returns the bound port.
  absl::StatusOr<int> Listen(const std::string& host, int port);
  void Start();
  // Stops accepting, closes connections and joins the threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct HttpClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Duration timeout = std::chrono::seconds(30);
};

// Performs one request with libcurl, reusing a per-thread connection cache.
// Any HTTP status is a successful exchange; Unavailable when the peer cannot
// be reached, DeadlineExceeded on timeout.
absl::StatusOr<HttpResponse> HttpFetch(const HttpClientRequest& request);

}  // namespace shareplane

#endif  // SHAREPLANE_COMMON_HTTP_HTTP_H_
