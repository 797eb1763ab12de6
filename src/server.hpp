#pragma once
// The daemon: builds the store, bus, hub and workers from the configuration, runs
// the reactor threads, and drains on SIGTERM/SIGINT.
//
// Threads: run() blocks the calling thread, which handles signals and the drain;
// each worker runs on a thread of its own.

#include <memory>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "net/listener.hpp"
#include "net/net.hpp"
#include "server_context.hpp"
#include "stream/hub.hpp"
#include "stream/worker.hpp"

namespace ssehub {

inline constexpr const char* kVersion = "0.1.0";

class Server {
 public:
  explicit Server(Config config);
  ~Server();

  // Returns the process exit code: 0 after a clean drain.
  int run();

 private:
  void begin_drain();
  void watch_drain(std::chrono::steady_clock::time_point deadline);
  void finish();

  ServerContext ctx_;
  std::unique_ptr<Hub> hub_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  net::io_context control_{1};
  net::signal_set signals_;
  net::steady_timer drain_timer_;
  std::shared_ptr<Listener> listener_;
  bool draining_ = false;
};

// Raises the open-files soft limit to the hard limit; returns the new soft limit.
std::uint64_t raise_open_files_limit();

}  // namespace ssehub
