// HTTP/1.1 server core on Boost.Beast (asynchronous, a fixed thread pool).
// Boost 1.74's asio uses std::exchange without including <utility>.
// clang-format off
#include <utility>
#include <deque>
#include <optional>
#include <thread>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/core/log.h"
#include "common/core/mutex.h"
#include "common/http/http.h"

namespace shareplane {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

using Parser = bhttp::request_parser<bhttp::string_body>;

void Configure(Parser& parser, const HttpLimits& limits) {
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
}

// The answer to bytes the parser refused: 400, 413, 414 or 431, or 0 when
// there is nobody to answer (the peer went away or sent nothing).
int StatusForError(beast::error_code ec, const Parser& parser,
                   absl::string_view buffered, const HttpLimits& limits,
                   std::string& message) {
  if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted ||
      ec == asio::error::connection_reset || ec == asio::error::eof ||
      ec == asio::error::broken_pipe) {
    return 0;
  }
  if (ec == bhttp::error::body_limit) {
    message = "Request is too large.";
    return 413;
  }
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    // Too long a request line is 414, too many header bytes after a
    // request line of a fair size 431; whether the parser got to the
    // request line depends on how the bytes arrived, so look at them too.
    const size_t line_end = buffered.find('\n');
    const bool line_fits = !parser.get().target().empty() ||
                           (line_end != absl::string_view::npos &&
                            line_end <= limits.max_target_bytes + 64);
    if (!line_fits) {
      message = "Request-URI Too Long.";
      return 414;
    }
    message = "Request Header Fields Too Large.";
    return 431;
  }
  message = absl::StrCat("Malformed request: ", ec.message(), ".");
  return 400;
}

HttpRequest ToHttpRequest(const bhttp::request<bhttp::string_body>& req) {
  HttpRequest in;
  auto method = req.method_string();
  in.method.assign(method.data(), method.size());
  absl::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  in.path = std::string(target.substr(0, q));
  if (q != absl::string_view::npos)
    in.query = std::string(target.substr(q + 1));
  for (const auto& field : req) {
    auto name = field.name_string();
    auto value = field.value();
    std::string key =
        absl::AsciiStrToLower(absl::string_view(name.data(), name.size()));
    std::string v(value.data(), value.size());
    // Repeated fields fold into one, comma-separated (RFC 9110 5.3).
    auto [it, inserted] = in.headers.emplace(std::move(key), v);
    if (!inserted) absl::StrAppend(&it->second, ",", v);
  }
  in.body = req.body();
  return in;
}

// What the parser accepts but the server must not serve: 0 to serve it,
// else the status to answer.
int Refusal(const bhttp::request<bhttp::string_body>& req,
            const HttpLimits& limits, std::string& message) {
  if (req.target().size() > limits.max_target_bytes) {
    message = "Request-URI Too Long.";
    return 414;
  }
  if (req.version() != 10 && req.version() != 11) {
    message = "Malformed request: unsupported HTTP version.";
    return 400;
  }
  // A transfer coding other than chunked leaves the body's end unknown
  // (RFC 9112 6.3): the rest of the bytes cannot be trusted as a request.
  auto te = req.find(bhttp::field::transfer_encoding);
  if (te != req.end() && !req.chunked()) {
    message = "Malformed request: unsupported transfer coding.";
    return 400;
  }
  return 0;
}

// A fixed set of threads taking jobs from a bounded queue.
class WorkerPool {
 public:
  WorkerPool(int threads, size_t max_queued) : max_queued_(max_queued) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { Work(); });
    }
  }
  ~WorkerPool() { Stop(); }

  // False when the queue is full or the pool stopped.
  bool TrySubmit(std::function<void()> job) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    if (stopped_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(job));
    work_.Signal();  // one job, one worker
    return true;
  }

  // Runs what is running to its end, drops what is queued.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      MutexLock lock(&mu_);
      if (stopped_) return;
      stopped_ = true;
      queue_.clear();
      work_.SignalAll();
    }
    // Only the one call that set stopped_ gets here.
    for (auto& t : threads_) t.join();
  }

 private:
  bool StoppedOrQueuedLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return stopped_ || !queue_.empty();
  }

  void Work() ABSL_LOCKS_EXCLUDED(mu_) {
    for (;;) {
      std::function<void()> job;
      {
        MutexLock lock(&mu_);
        while (!StoppedOrQueuedLocked()) work_.Wait(&mu_);
        if (stopped_) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  const size_t max_queued_;
  Mutex mu_;
  CondVar work_;  // signalled when a job is queued or the pool stops
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // Filled by the constructor, joined by the one Stop() that stops the
  // pool: no lock.
  std::vector<std::thread> threads_;
};

struct Lanes {
  HttpServer::Classifier classify;
  std::unique_ptr<WorkerPool> normal, slow;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServer::Handler& handler,
          const HttpServer::ErrorFormatter& errors, const HttpLimits& limits,
          const Lanes& lanes)
      : stream_(std::move(socket)),
        handler_(handler),
        errors_(errors),
        limits_(limits),
        lanes_(lanes) {}

  void Run() {
    asio::dispatch(
        stream_.get_executor(),
        beast::bind_front_handler(&Session::Read, shared_from_this()));
  }

 private:
  void Read() {
    parser_.emplace();
    Configure(*parser_, limits_);
    stream_.expires_after(std::chrono::seconds(30));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec) {
      std::string message;
      const auto data = buffer_.cdata();
      const int status = StatusForError(
          ec, *parser_,
          absl::string_view(static_cast<const char*>(data.data()), data.size()),
          limits_, message);
      if (status == 0) {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      SendError(status, message);
      return;
    }
    bhttp::request<bhttp::string_body> req = parser_->release();
    std::string refusal;
    if (int status = Refusal(req, limits_, refusal); status != 0) {
      SendError(status, refusal);
      return;
    }
    HttpRequest in = ToHttpRequest(req);
    beast::error_code addr_ec;
    auto remote = stream_.socket().remote_endpoint(addr_ec);
    if (!addr_ec) in.remote_addr = remote.address().to_string();
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    const HttpLane lane =
        lanes_.classify ? lanes_.classify(in) : HttpLane::kInline;
    if (lane == HttpLane::kInline) {
      Write(Serve(in), version, keep_alive);
      return;
    }
    WorkerPool& pool = lane == HttpLane::kSlow ? *lanes_.slow : *lanes_.normal;
    auto self = shared_from_this();
    const bool queued = pool.TrySubmit([self, in = std::move(in), version,
                                        keep_alive]() mutable {
      HttpResponse out = self->Serve(in);
      asio::post(self->stream_.get_executor(),
                 [self, out = std::move(out), version, keep_alive]() mutable {
                   self->Write(std::move(out), version, keep_alive);
                 });
    });
    if (!queued) {
      HttpResponse busy = Error(503, "The server is busy; retry shortly.");
      busy.SetHeader("Retry-After", "1");
      Write(std::move(busy), version, keep_alive);
    }
  }

  HttpResponse Serve(const HttpRequest& in) {
    try {
      return handler_(in);
    } catch (const std::exception& e) {
      SP_LOG(Error) << "Unhandled exception serving " << in.method << " "
                    << in.path << ": " << e.what();
      return Error(500, "Unexpected API Error.");
    }
  }

  HttpResponse Error(int status, const std::string& message) {
    if (errors_) return errors_(status, message);
    return HttpResponse{status, {{"Content-Type", "text/plain"}}, message};
  }

  void SendError(int status, const std::string& message) {
    Write(Error(status, message), 11, false);
  }

  void Write(HttpResponse out, unsigned version, bool keep_alive) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(out.status), version);
    res->set(bhttp::field::server, "shareplane");
    for (auto& [k, v] : out.headers) res->set(k, v);
    res->body() = std::move(out.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    // The read's deadline may have run while a worker served the request.
    stream_.expires_after(std::chrono::seconds(30));
    bhttp::async_write(
        stream_, *res,
        [self = shared_from_this(), res](beast::error_code ec, size_t) {
          if (ec) return;
          if (!res->keep_alive()) {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_send,
                                            ignored);
            // Read what the client is still sending (the rest of a body
            // refused with 413) before closing: closing with unread data
            // resets the connection and the client never sees the answer.
            self->Drain();
            return;
          }
          self->Read();
        });
  }

  void Drain() {
    stream_.expires_after(std::chrono::seconds(5));
    drain_.resize(16384);
    stream_.async_read_some(
        asio::buffer(drain_),
        [self = shared_from_this()](beast::error_code ec, size_t n) {
          self->drained_ += n;
          if (!ec && self->drained_ < 64 * self->limits_.max_body_bytes) {
            self->Drain();
          }
        });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::vector<char> drain_;
  size_t drained_ = 0;
  std::optional<Parser> parser_;
  const HttpServer::Handler& handler_;
  const HttpServer::ErrorFormatter& errors_;
  const HttpLimits& limits_;
  const Lanes& lanes_;
};

}  // namespace

HttpParseResult ParseHttpRequest(absl::string_view bytes,
                                 const HttpLimits& limits) {
  HttpParseResult out;
  Parser parser;
  Configure(parser, limits);
  size_t used = 0;
  while (!parser.is_done()) {
    beast::error_code ec;
    const size_t n =
        parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == bhttp::error::need_more) {
      if (used < bytes.size() && n > 0) continue;
      return out;  // -1: more bytes needed
    }
    if (ec) {
      out.status = StatusForError(ec, parser, bytes, limits, out.message);
      if (out.status == 0) out.status = 400;
      return out;
    }
    if (n == 0 && !parser.is_done()) return out;
  }
  bhttp::request<bhttp::string_body> req = parser.release();
  out.consumed = used;
  if (int status = Refusal(req, limits, out.message); status != 0) {
    out.status = status;
    return out;
  }
  out.request = ToHttpRequest(req);
  out.status = 0;
  return out;
}

struct HttpServer::Impl {
  Impl(Handler h, int n, ErrorFormatter e, HttpLimits l)
      : handler(std::move(h)),
        errors(std::move(e)),
        limits(l),
        threads(n),
        ioc(n) {}

  void Accept() {
    acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec,
                                                          tcp::socket s) {
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
      } else {
        std::make_shared<Session>(std::move(s), handler, errors, limits, lanes)
            ->Run();
      }
      Accept();
    });
  }

  Handler handler;
  ErrorFormatter errors;
  HttpLimits limits;
  Lanes lanes;
  int threads;
  asio::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> pool;
  bool stopped = false;
};

HttpServer::HttpServer(Handler handler, int threads, ErrorFormatter errors,
                       HttpLimits limits)
    : impl_(std::make_unique<Impl>(std::move(handler), threads,
                                   std::move(errors), limits)) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<int> HttpServer::Listen(const std::string& host, int port) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("Bad listen address '", host, "': ", ec.message()));
  }
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  impl_->acceptor.emplace(impl_->ioc);
  impl_->acceptor->open(endpoint.protocol(), ec);
  if (!ec)
    impl_->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(endpoint, ec);
  if (!ec)
    impl_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("Cannot listen on ", host, ":", port, ": ", ec.message()));
  }
  return static_cast<int>(impl_->acceptor->local_endpoint().port());
}

void HttpServer::Start() {
  impl_->Accept();
  for (int i = 0; i < impl_->threads; ++i) {
    impl_->pool.emplace_back([this] { impl_->ioc.run(); });
  }
}

void HttpServer::SetWorkerLanes(Classifier classify, int default_workers,
                                int slow_workers, size_t max_queued) {
  impl_->lanes.classify = std::move(classify);
  impl_->lanes.normal =
      std::make_unique<WorkerPool>(default_workers, max_queued);
  impl_->lanes.slow = std::make_unique<WorkerPool>(slow_workers, max_queued);
}

void HttpServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  // Handlers first: what they post to the I/O threads then goes nowhere.
  if (impl_->lanes.normal) impl_->lanes.normal->Stop();
  if (impl_->lanes.slow) impl_->lanes.slow->Stop();
  impl_->ioc.stop();
  for (auto& t : impl_->pool) t.join();
  impl_->pool.clear();
}

}  // namespace shareplane
