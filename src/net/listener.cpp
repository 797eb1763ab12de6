#include "net/listener.hpp"

#include <spdlog/spdlog.h>

#include "http/http_session.hpp"
#include "stream/worker.hpp"

namespace ssehub {

Listener::Listener(net::io_context& ioc, std::vector<Worker*> workers, ServerContext& ctx)
    : acceptor_(ioc), backoff_(ioc), workers_(std::move(workers)), ctx_(ctx) {}

void Listener::open(const tcp::endpoint& endpoint) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
}

void Listener::run() {
  do_accept();
}

void Listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    error_code ignored;
    self->acceptor_.close(ignored);
    self->backoff_.cancel();
  });
}

void Listener::do_accept() {
  Worker* w = workers_[next_++ % workers_.size()];
  acceptor_.async_accept(w->io(), [self = shared_from_this(), w](error_code ec, tcp::socket s) {
    self->on_accept(ec, std::move(s), *w);
  });
}

void Listener::on_accept(error_code ec, tcp::socket socket, Worker& worker) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Out of descriptors or similar: wait briefly instead of spinning.
    spdlog::error("accept failed: {}; retrying in 100 ms", ec.message());
    backoff_.expires_after(std::chrono::milliseconds(100));
    backoff_.async_wait([self = shared_from_this()](error_code e) {
      if (!e) self->do_accept();
    });
    return;
  }
  bump(ctx_.metrics.connections_total);
  bool over =
      static_cast<std::uint64_t>(ctx_.metrics.connections_open.load(std::memory_order_relaxed)) >=
      ctx_.max_connections;
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  ConnectionSlot slot(&ctx_.metrics);
  // The socket belongs to the worker's io_context; the session starts on that thread.
  auto session = std::make_shared<HttpSession>(std::move(socket), worker, std::move(slot), over);
  net::post(worker.io(), [session] { session->run(); });
  do_accept();
}

}  // namespace ssehub
