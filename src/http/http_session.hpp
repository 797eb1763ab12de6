#pragma once
// One HTTP connection before (or instead of) an event stream: reads requests with
// a bounded head, a bounded body and a deadline, answers them (keep-alive), and
// hands the socket to a StreamSession for GET /events.
//
// Lifetime: owned by its pending operations (shared_from_this). Threads: runs on
// the worker that accepted it; store callbacks are posted back there.

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <optional>

#include "http/http_deps.hpp"
#include "http/request_parsing.hpp"
#include "http/router.hpp"
#include "net/net.hpp"
#include "server_context.hpp"

namespace ssehub {

namespace beast = boost::beast;
namespace http = beast::http;

class Worker;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, Worker& worker, ConnectionSlot slot, bool over_capacity);
  void run();

 private:
  using Request = http::request<http::string_body>;
  using Response = http::response<http::string_body>;

  void do_read();
  void on_read(error_code ec, std::size_t bytes);
  void handle(const Request& req);
  void send_preflight(const Request& req);
  void send_probe(const Request& req, const Route& r);
  void handle_events(const Request& req, const Target& target, EventsRequest request);
  void handle_publish(const Request& req, const Target& target);
  std::variant<Principal, ApiError> authenticate(const Request& req, const Target& target) const;
  void send_error(const ApiError& e, bool keep_alive);
  void send(Response res, bool prepared = false);
  void on_write(bool close, error_code ec, std::size_t bytes);
  void do_close();
  std::string cors_for(const Request& req) const;

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  Worker& worker_;
  const HttpDeps& deps_;
  ConnectionSlot slot_;
  bool over_capacity_;
  bool closing_ = false;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  std::string origin_;
};

}  // namespace ssehub
