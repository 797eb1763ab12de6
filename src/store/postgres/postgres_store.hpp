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
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "core/config.hpp"
#include "store/event_store.hpp"

namespace ssehub {

class PgPublisher;
class PgReplayer;
class PgHousekeeper;

struct PgShared;

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
  std::optional<EventId> position() const override;
  bool ready() const override;
  std::string health_json() const override;
  void render_metrics(std::string& out) const override;
  void stop() override;

  const std::string& epoch() const;

 private:
  std::unique_ptr<PgShared> shared_;
  std::unique_ptr<PgPublisher> publisher_;
  std::unique_ptr<PgReplayer> replayer_;
  std::unique_ptr<PgHousekeeper> housekeeper_;
  std::atomic<bool> stopped_{false};
};

}  // namespace ssehub
