#pragma once
// The durable event log on Postgres (store.kind = postgres).
//
// Publishing: one publisher thread takes every waiting publish request into one
// transaction (batching), inside the ordered section: a session advisory lock held
// from before the ids are taken until after the commit and the live publication,
// so ids become visible in id order across replicas. Replays: a pool of
// replay.max_concurrent threads, each with its own connection; a replay that has
// not started by its deadline fails as `busy`, one that has not finished as
// `timeout` (the blocked call is interrupted). A housekeeping thread checks the
// connection every second and prunes expired events.
//
// Threads: every EventStore method may be called from any thread; callbacks run on
// store threads (or the deadline thread) and only post work. Lifetime: stop()
// joins every thread; the destructor calls it.

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "core/config.hpp"
#include "observability/metrics.hpp"
#include "platform/deadline_scheduler.hpp"
#include "store/event_store.hpp"
#include "store/postgres/pg_link.hpp"

namespace ssehub {

class PgPublisher;
class PgReplayer;
class PgHousekeeper;

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

class PostgresStore final : public EventStore {
 public:
  // Connects and migrates the schema (retrying for a few seconds); throws
  // std::runtime_error when the database cannot be reached or migrated.
  PostgresStore(const StoreConfig& store, const ReplayConfig& replay);
  ~PostgresStore() override;

  std::string_view kind() const override { return "postgres"; }
  void append(std::vector<NewEvent> batch, OrderedPublish publish,
              std::function<void(AppendResult)> done) override;
  void replay(ReplayQuery query, std::function<void(ReplayResult)> done) override;
  bool ready() const override;
  std::string health_json() const override;
  void render_metrics(std::string& out) const override;
  void stop() override;

  const std::string& epoch() const { return shared_->epoch; }

 private:
  std::unique_ptr<PgShared> shared_;
  std::unique_ptr<PgPublisher> publisher_;
  std::unique_ptr<PgReplayer> replayer_;
  std::unique_ptr<PgHousekeeper> housekeeper_;
  std::atomic<bool> stopped_{false};
};

// Creates the schema or brings it to this build's version, under an advisory lock
// so that replicas starting together migrate once; returns the store epoch and
// its head seq.
std::pair<std::string, std::uint64_t> migrate_schema(pqxx::connection& c);

}  // namespace ssehub
