#pragma once
// One Postgres connection as a store thread holds it: opened on first use, dropped
// after any failure that may have broken it and opened again on the next use, so
// the store heals by itself when the database returns. Plus what every call needs
// around it: a deadline that can interrupt a blocked call, and the shared status
// that /health reports.
//
// Threads: a PgLink belongs to one thread. CallWatch::interrupt() and PgStatus may
// be used from any thread.

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "core/replay_decision.hpp"
#include "platform/deadline_scheduler.hpp"

namespace ssehub {

// The database's state as the store last saw it.
class PgStatus {
 public:
  void up();
  void down(const std::string& error);
  void note_error(const std::string& error);  // failed call, connection still fine
  bool connected() const { return connected_.load(std::memory_order_relaxed); }
  // Milliseconds since the last failed connection, or -1 while connected.
  long long down_for_ms() const;
  struct Snapshot {
    bool connected = false;
    std::string last_error;
    long long last_error_unix_ms = 0;
  };
  Snapshot snapshot() const;

 private:
  std::atomic<bool> connected_{false};
  mutable std::mutex mutex_;
  std::string last_error_;
  long long last_error_unix_ms_ = 0;
  std::chrono::steady_clock::time_point down_since_{};
};

// Lets another thread interrupt the call a store thread is blocked in: shutting
// the socket down makes libpq return at once with a broken connection, even when
// the server is stopped and would never answer.
class CallWatch {
 public:
  CallWatch() = default;
  CallWatch(const CallWatch&) = delete;
  CallWatch& operator=(const CallWatch&) = delete;
  ~CallWatch();
  void attach(int fd);
  void detach();
  void interrupt();
  bool fired() const { return fired_.load(); }
  void rearm() { fired_ = false; }

 private:
  std::mutex mutex_;
  int fd_ = -1;
  std::atomic<bool> fired_{false};
};

// A failed call, classified for the client and worded for the log.
struct PgFailure {
  FailureReason reason = FailureReason::error;
  std::string message;
};

class PgLink {
 public:
  // `role` names the connection in pg_stat_activity (application_name).
  PgLink(const std::string& conninfo, std::string role, PgStatus& status,
         std::chrono::milliseconds statement_timeout = {});

  // The open connection, connecting first if needed. Throws pqxx::broken_connection.
  pqxx::connection& get();
  bool open() const { return conn_ != nullptr; }
  void reset() { conn_.reset(); }
  // A call interrupted just as it finished may have left the socket shut down:
  // the connection must not be used again.
  void drop_if_interrupted(const CallWatch& watch) {
    if (watch.fired()) conn_.reset();
  }

  // Classifies the exception in flight (call inside a catch block), drops the
  // connection when it may be broken, and updates the status.
  PgFailure fail(const CallWatch* watch = nullptr);

  // Every call a store or bus thread makes goes through one of the two below.
  //
  // watched(): runs `call(connection)` with the watch attached to its socket, so
  // another thread (a deadline) can interrupt it. The deadline is the caller's: the
  // replayer's starts when a query is queued, not when it runs. Exceptions propagate
  // (classify them with fail(&watch)); a connection whose call was interrupted just
  // as it finished is dropped.
  template <typename Call>
  auto watched(CallWatch& watch, Call&& call) {
    struct Detach {
      CallWatch& watch;
      ~Detach() { watch.detach(); }
    } detach{watch};
    pqxx::connection& c = get();
    watch.attach(c.sock());
    if (watch.fired()) throw pqxx::broken_connection("interrupted before the call");
    auto result = call(c);
    drop_if_interrupted(watch);
    return result;
  }

  // guarded(): watched() under a deadline of `timeout` from now; past it the watch
  // interrupts the call, so a stopped server cannot hold the thread.
  template <typename Call>
  auto guarded(CallWatch& watch, DeadlineScheduler& scheduler, std::chrono::milliseconds timeout,
               Call&& call) {
    watch.rearm();
    struct Cancel {
      DeadlineScheduler& scheduler;
      std::uint64_t timer;
      ~Cancel() { scheduler.cancel(timer); }
    } cancel{scheduler, scheduler.schedule(DeadlineScheduler::Clock::now() + timeout,
                                           [&watch] { watch.interrupt(); })};
    return watched(watch, std::forward<Call>(call));
  }

 private:
  std::string conninfo_;
  std::string role_;
  PgStatus& status_;
  std::chrono::milliseconds statement_timeout_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace ssehub
