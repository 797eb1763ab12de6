#pragma once
// The Postgres store's replay pool: replay.max_concurrent threads, each with its
// own connection, so at most that many replay queries run at once per replica.
// Every replay is answered by its deadline (replay.timeout_ms from submission):
// one still queued then fails as `busy` (`unavailable` while the database is
// down), one still running as `timeout`, and its blocked call is interrupted.
//
// Threads: submit() from any thread; callbacks run on a pool thread or the
// deadline thread. Lifetime: stop() joins the pool and fails what is queued.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/event_store.hpp"
#include "store/postgres/pg_link.hpp"

namespace ssehub {

struct PgShared;

class PgReplayer {
 public:
  PgReplayer(PgShared& shared, std::size_t threads, std::chrono::milliseconds timeout);
  ~PgReplayer();

  void submit(ReplayQuery query, std::function<void(ReplayResult)> done);
  void stop();
  std::size_t in_use() const { return in_use_.load(); }
  std::size_t size() const { return threads_.size(); }
  std::size_t queued() const;

  // Replays that may wait for a thread; past it a replay fails as `busy` at once.
  static constexpr std::size_t kMaxQueued = 20000;

 private:
  struct Job {
    ReplayQuery query;
    std::function<void(ReplayResult)> done;
    std::chrono::steady_clock::time_point deadline;
    std::atomic<bool> settled{false};
    std::mutex mutex;            // guards watch
    CallWatch* watch = nullptr;  // set while a pool thread runs the query
    std::uint64_t timer = 0;
    bool settle(ReplayResult r);
  };

  void run(std::size_t index);
  void expire(const std::weak_ptr<Job>& job);
  ReplayResult query(PgLink& link, CallWatch& watch, const ReplayQuery& q);
  ReplayResult failure(FailureReason reason, std::string why) const;

  PgShared& shared_;
  const std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  std::atomic<std::size_t> in_use_{0};
  std::vector<std::unique_ptr<CallWatch>> watches_;
  std::vector<std::thread> threads_;
};

}  // namespace ssehub
