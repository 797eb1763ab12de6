#pragma once
// Accepts connections and spreads them over the workers round robin; each accepted
// socket lives on its worker's io_context from the start.

#include <atomic>
#include <memory>
#include <vector>

#include "net/net.hpp"
#include "server_context.hpp"

namespace ssehub {

class Worker;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, std::vector<Worker*> workers, ServerContext& ctx);
  // Binds; throws std::system_error with the cause.
  void open(const tcp::endpoint& endpoint);
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void run();
  void stop();  // any thread

 private:
  void do_accept();
  void on_accept(error_code ec, tcp::socket socket, Worker& worker);

  tcp::acceptor acceptor_;
  net::steady_timer backoff_;
  std::vector<Worker*> workers_;
  ServerContext& ctx_;
  std::size_t next_ = 0;
};

}  // namespace ssehub
