#pragma once
// What the Postgres store's threads (publisher, replayers, housekeeper) share: the
// connection string and epoch, the known head, the database status, the deadline
// thread and the metrics.
//
// Threads: the fields are set before the threads start; known_head, status and the
// metrics are safe from any thread.

#include <atomic>
#include <cstdint>
#include <string>

#include "observability/metrics.hpp"
#include "platform/deadline_scheduler.hpp"
#include "store/postgres/pg_link.hpp"

namespace ssehub {

// What the store's threads share.
struct PgShared {
  std::string conninfo;
  std::string epoch;  // fixed after migration
  // The highest seq this replica has seen committed (by its commits and reads).
  std::atomic<std::uint64_t> known_head{0};
  void saw_head(std::uint64_t seq) {
    auto cur = known_head.load(std::memory_order_relaxed);
    while (seq > cur && !known_head.compare_exchange_weak(cur, seq)) {
    }
  }
  PgStatus status;
  DeadlineScheduler scheduler;
  Histogram commit_batch{{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}};
  Histogram commit_seconds{{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5}};
  Counter commits{0};
  Counter commit_failures{0};
  Counter unordered_commits{0};  // committed without the publish lock
  Counter replay_queries{0};
  Counter replays_busy{0};
  Counter pruned{0};
};

}  // namespace ssehub
