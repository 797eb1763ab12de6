#pragma once
// A throwaway Redis server on a free loopback port, for integration tests.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ssehub::test {

// Owns a redis-server (no persistence) listening on 127.0.0.1 with its working directory
// and log under /tmp, removed on destruction. Not thread-safe: drive it from one thread.
// The server gets SIGKILL when the thread that started it exits (so a crashed or killed
// test leaves no server behind), so start it from the main thread, or from a thread that
// outlives it. Every wait is bounded; failures throw std::runtime_error.
class RedisServer {
 public:
  // Creates the temp directory, picks a free loopback port (kept across restarts) and
  // starts the server.
  RedisServer();
  // Resumes a paused server, stops it and removes the temp directory.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts on the port chosen at construction and waits until PING answers PONG (30 s).
  // No-op if running.
  void start();
  // SIGTERM; SIGKILL after 10 s. Resumes a paused server first.
  void stop();
  // SIGKILL and reap. Works on a paused server too.
  void kill_hard();
  // SIGSTOP / SIGCONT (redis is one process): connections are accepted by the kernel but
  // get no reply until resume().
  void pause();
  void resume();

  std::uint16_t port() const { return port_; }
  // Server pid, -1 when stopped.
  pid_t pid() const { return pid_; }
  // "redis://127.0.0.1:PORT"
  std::string url() const;

  // Sends one command over a fresh TCP connection and returns the reply as text: simple
  // string, error, integer and bulk string as their text, arrays as their elements joined
  // by '\n' (nested arrays flattened), nil as "". Bounded by 5 s; throws on connection
  // failure, timeout or a malformed reply. A Redis error reply is returned, not thrown.
  std::string command(const std::vector<std::string>& args);
  // Server output of every start.
  std::string log() const;

 private:
  std::string dir_;
  std::string log_path_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
};

}  // namespace ssehub::test
