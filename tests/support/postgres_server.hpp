#pragma once
// A throwaway PostgreSQL server on a free loopback port, for integration tests.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "child_server.hpp"

namespace ssehub::test {

// Owns a postmaster running as the `postgres` OS user (the test runs as root) on a private
// data directory under /tmp, removed on destruction. Not thread-safe: drive it from one
// thread. The postmaster gets SIGKILL when the thread that started it exits (so a crashed
// or killed test leaves no server behind), so start it from the main thread, or from a
// thread that outlives it. Every wait is bounded; failures throw std::runtime_error.
class PostgresServer : public ChildServer {
 public:
  PostgresServer();
  ~PostgresServer() override;

  // Starts on the port and data directory chosen at construction and waits until the
  // server accepts connections (30 s). No-op if running.
  void start();
  // Fast shutdown (SIGINT); SIGKILL after 30 s.
  void stop();
  // SIGKILL to the postmaster and every child; start() recovers the data directory.
  void kill_hard();
  // pause() and resume() (SIGSTOP / SIGCONT) reach the postmaster and all its children:
  // connections hang. pid() is the postmaster's, -1 when stopped.

  std::uint16_t port() const { return port_; }

  // CREATE DATABASE name; returns url(name).
  std::string create_database(const std::string& name);
  // "postgresql://postgres@127.0.0.1:PORT/db?connect_timeout=2"
  std::string url(const std::string& db) const;
  // Rows of the last statement's result; NULL becomes "".
  std::vector<std::vector<std::string>> query(const std::string& db, const std::string& sql);
  // log(): initdb output followed by the server log of every start.

  // One server per test process, created on first use.
  static PostgresServer& shared();

 private:
  std::vector<pid_t> detached_children() override;
  SpawnOptions as_postgres() const;
  void remove_pid_file() const;

  std::string data_dir_;
  std::string bin_dir_;
  std::uint16_t port_ = 0;
};

}  // namespace ssehub::test
