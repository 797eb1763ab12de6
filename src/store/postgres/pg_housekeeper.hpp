#pragma once
// The Postgres store's housekeeping thread: checks the connection every second
// (so /health follows the database even without traffic) and, every
// store.retention_interval_ms, prunes events older than store.retention_hours in
// small batches. Only the replica holding the retention advisory lock prunes.
//
// Threads: its own. Lifetime: stop() interrupts and joins it.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "store/postgres/pg_link.hpp"

namespace ssehub {

struct PgShared;

class PgHousekeeper {
 public:
  PgHousekeeper(PgShared& shared, std::uint64_t retention_hours,
                std::chrono::milliseconds retention_interval);
  ~PgHousekeeper();
  void stop();

  static constexpr std::size_t kPruneBatch = 1000;
  // Batches one round deletes at most, so a backlog is worked off over rounds.
  static constexpr std::size_t kMaxBatchesPerRound = 100;
  static constexpr std::chrono::milliseconds kCheckInterval{1000};
  // Deadlines: the health round trip, and each call of a prune round.
  static constexpr std::chrono::milliseconds kCheckTimeout{2000};
  static constexpr std::chrono::milliseconds kPruneCallTimeout{10000};

 private:
  void run();
  void check();
  void prune();
  // Deletes one batch; returns the rows deleted (0 when nothing more is due).
  std::size_t prune_batch(pqxx::connection& c);
  bool sleep_for(std::chrono::milliseconds d);  // false when stopping

  PgShared& shared_;
  const std::uint64_t retention_hours_;
  const std::chrono::milliseconds retention_interval_;
  PgLink link_;
  CallWatch watch_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ssehub
