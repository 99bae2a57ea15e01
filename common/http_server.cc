// HTTP/1.1 server core on Boost.Beast (asynchronous, a fixed thread pool).
// Boost 1.74's asio uses std::exchange without including <utility>.
// clang-format off
#include <utility>
#include <optional>
#include <thread>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/http.h"
#include "common/log.h"

namespace shareplane {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kMaxBodyBytes = 1 << 20;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServer::Handler& handler,
          const HttpServer::ErrorFormatter& errors)
      : stream_(std::move(socket)), handler_(handler), errors_(errors) {}

  void Run() {
    asio::dispatch(
        stream_.get_executor(),
        beast::bind_front_handler(&Session::Read, shared_from_this()));
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(std::chrono::seconds(30));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == bhttp::error::end_of_stream || ec) {
      if (ec == bhttp::error::body_limit) {
        SendError(413, "Request is too large.");
        return;
      }
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    bhttp::request<bhttp::string_body> req = parser_->release();
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
      in.headers[absl::AsciiStrToLower(absl::string_view(
          name.data(), name.size()))] = std::string(value.data(), value.size());
    }
    in.body = std::move(req.body());
    beast::error_code addr_ec;
    auto remote = stream_.socket().remote_endpoint(addr_ec);
    if (!addr_ec) in.remote_addr = remote.address().to_string();
    HttpResponse out;
    try {
      out = handler_(in);
    } catch (const std::exception& e) {
      SP_LOG(Error) << "Unhandled exception serving " << in.method << " "
                    << in.path << ": " << e.what();
      out = Error(500, "Unexpected API Error.");
    }
    Write(std::move(out), req.version(), req.keep_alive());
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
          if (!ec && self->drained_ < 64 * kMaxBodyBytes) self->Drain();
        });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::vector<char> drain_;
  size_t drained_ = 0;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  const HttpServer::Handler& handler_;
  const HttpServer::ErrorFormatter& errors_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(Handler h, int n, ErrorFormatter e)
      : handler(std::move(h)), errors(std::move(e)), threads(n), ioc(n) {}

  void Accept() {
    acceptor->async_accept(
        asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
          if (ec) {
            if (ec == asio::error::operation_aborted) return;
          } else {
            std::make_shared<Session>(std::move(s), handler, errors)->Run();
          }
          Accept();
        });
  }

  Handler handler;
  ErrorFormatter errors;
  int threads;
  asio::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> pool;
  bool stopped = false;
};

HttpServer::HttpServer(Handler handler, int threads, ErrorFormatter errors)
    : impl_(std::make_unique<Impl>(std::move(handler), threads,
                                   std::move(errors))) {}

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

void HttpServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->ioc.stop();
  for (auto& t : impl_->pool) t.join();
  impl_->pool.clear();
}

}  // namespace shareplane
