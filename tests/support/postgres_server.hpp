#pragma once
// A throwaway PostgreSQL server on a free loopback port, for integration tests.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ssehub::test {

// Owns a postmaster running as the `postgres` OS user (the test runs as root) on a private
// data directory under /tmp, removed on destruction. Not thread-safe: drive it from one
// thread. The postmaster gets SIGKILL when the thread that started it exits (so a crashed
// or killed test leaves no server behind), so start it from the main thread, or from a
// thread that outlives it. Every wait is bounded; failures throw std::runtime_error.
class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Starts on the port and data directory chosen at construction and waits until the
  // server accepts connections (30 s). No-op if running.
  void start();
  // Fast shutdown (SIGINT); SIGKILL after 30 s.
  void stop();
  // SIGKILL to the postmaster and every child; start() recovers the data directory.
  void kill_hard();
  // SIGSTOP / SIGCONT to the postmaster and all its children: connections hang.
  void pause();
  void resume();

  std::uint16_t port() const { return port_; }
  // Postmaster pid, -1 when stopped.
  pid_t pid() const { return pid_; }

  // CREATE DATABASE name; returns url(name).
  std::string create_database(const std::string& name);
  // "postgresql://postgres@127.0.0.1:PORT/db?connect_timeout=2"
  std::string url(const std::string& db) const;
  // Rows of the last statement's result; NULL becomes "".
  std::vector<std::vector<std::string>> query(const std::string& db, const std::string& sql);
  // initdb output followed by the server log of every start.
  std::string log() const;

  // One server per test process, created on first use.
  static PostgresServer& shared();

 private:
  std::string dir_;
  std::string data_dir_;
  std::string log_path_;
  std::string bin_dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::vector<pid_t> paused_;
};

}  // namespace ssehub::test
