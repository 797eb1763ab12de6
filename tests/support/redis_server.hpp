#pragma once
// A throwaway Redis server on a free loopback port, for integration tests.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "child_server.hpp"

namespace ssehub::test {

// Owns a redis-server (no persistence) listening on 127.0.0.1 with its working directory
// and log under /tmp, removed on destruction. Not thread-safe: drive it from one thread.
// The server gets SIGKILL when the thread that started it exits (so a crashed or killed
// test leaves no server behind), so start it from the main thread, or from a thread that
// outlives it. Every wait is bounded; failures throw std::runtime_error.
class RedisServer : public ChildServer {
 public:
  // Creates the temp directory, picks a free loopback port (kept across restarts) and
  // starts the server.
  RedisServer();
  // Resumes a paused server, stops it and removes the temp directory.
  ~RedisServer() override;

  // Starts on the port chosen at construction and waits until PING answers PONG (30 s).
  // No-op if running.
  void start();
  // SIGTERM; SIGKILL after 10 s. Resumes a paused server first.
  void stop();
  // SIGKILL and reap. Works on a paused server too.
  void kill_hard();
  // pause() and resume() (SIGSTOP / SIGCONT; redis is one process): connections are
  // accepted by the kernel but get no reply until resume(). pid() is -1 when stopped.

  std::uint16_t port() const { return port_; }
  // "redis://127.0.0.1:PORT"
  std::string url() const;

  // Sends one command over a fresh TCP connection and returns the reply as text: simple
  // string, error, integer and bulk string as their text, arrays as their elements joined
  // by '\n' (nested arrays flattened), nil as "". Bounded by 5 s; throws on connection
  // failure, timeout or a malformed reply. A Redis error reply is returned, not thrown.
  std::string command(const std::vector<std::string>& args);
  // log(): server output of every start.

 private:
  std::uint16_t port_ = 0;
};

}  // namespace ssehub::test
