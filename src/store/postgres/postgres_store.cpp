#include "store/postgres/postgres_store.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "platform/random.hpp"
#include "store/postgres/pg_housekeeper.hpp"
#include "store/postgres/pg_publisher.hpp"
#include "store/postgres/pg_replayer.hpp"
#include "store/postgres/pg_shared.hpp"
#include "store/postgres/pg_sql.hpp"

namespace ssehub {
namespace {

// Replicas that start with the database may find it still starting.
constexpr auto kStartupAttempts = 10;
constexpr auto kStartupBackoff = std::chrono::milliseconds(500);

// Creates the schema or brings it to this build's version, under an advisory lock
// so that replicas starting together migrate once; returns the store epoch and
// its head seq.
std::pair<std::string, std::uint64_t> migrate_schema(pqxx::connection& c) {
  // The publish lock's guard against frozen holders needs idle_session_timeout.
  if (c.server_version() < pg::kMinServerVersion) {
    throw std::runtime_error("PostgreSQL " + std::to_string(c.server_version() / 10000) +
                             " is too old: ssehub needs PostgreSQL 14 or newer");
  }
  pqxx::work w(c);
  w.exec_params("SELECT pg_advisory_xact_lock($1::bigint)", pg::kMigrateLock);
  w.exec(
      "CREATE TABLE IF NOT EXISTS ssehub_schema_version ("
      "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
  int version = w.exec1("SELECT coalesce(max(version), 0) FROM ssehub_schema_version")[0].as<int>();
  if (version > pg::kSchemaVersion) {
    throw std::runtime_error("the database schema is version " + std::to_string(version) +
                             ", newer than this build's " + std::to_string(pg::kSchemaVersion));
  }
  if (version < 1) {
    w.exec(pg::kMigrationV1);
    w.exec_params("INSERT INTO ssehub_meta (id, epoch, head_seq) VALUES (1, $1, 0)",
                  random_token(8));
    w.exec("INSERT INTO ssehub_schema_version (version) VALUES (1)");
    spdlog::info("postgres schema created (version 1)");
  }
  auto meta = w.exec1("SELECT epoch, head_seq FROM ssehub_meta WHERE id = 1");
  w.commit();
  return {meta[0].as<std::string>(), meta[1].as<std::uint64_t>()};
}

}  // namespace

PostgresStore::PostgresStore(const StoreConfig& store, const ReplayConfig& replay)
    : shared_(std::make_unique<PgShared>()) {
  shared_->conninfo = store.postgres_url;
  PgLink link(shared_->conninfo, "migrate", shared_->status);
  for (int attempt = 1;; ++attempt) {
    try {
      auto [epoch, head] = migrate_schema(link.get());
      shared_->epoch = epoch;
      shared_->saw_head(head);
      break;
    } catch (...) {
      PgFailure f = link.fail();
      if (attempt == kStartupAttempts || f.reason != FailureReason::unavailable) {
        throw std::runtime_error("postgres (store.postgres_url): " + f.message);
      }
      spdlog::warn("postgres not reachable yet ({}); retrying", f.message);
      std::this_thread::sleep_for(kStartupBackoff);
    }
  }
  spdlog::info("postgres store ready: epoch {}", shared_->epoch);
  publisher_ =
      std::make_unique<PgPublisher>(*shared_, std::chrono::milliseconds(store.publish_timeout_ms));
  replayer_ = std::make_unique<PgReplayer>(*shared_, replay.max_concurrent,
                                           std::chrono::milliseconds(replay.timeout_ms));
  housekeeper_ = std::make_unique<PgHousekeeper>(
      *shared_, store.retention_hours, std::chrono::milliseconds(store.retention_interval_ms));
}

const std::string& PostgresStore::epoch() const {
  return shared_->epoch;
}

PostgresStore::~PostgresStore() {
  stop();
}

void PostgresStore::stop() {
  if (stopped_.exchange(true)) return;
  // Deadline callbacks refer to the components: end them first.
  shared_->scheduler.stop();
  housekeeper_->stop();
  replayer_->stop();
  publisher_->stop();
}

void PostgresStore::append(std::vector<NewEvent> batch, OrderedPublish publish,
                           std::function<void(AppendResult)> done) {
  publisher_->submit(std::move(batch), std::move(publish), std::move(done));
}

void PostgresStore::replay(ReplayQuery query, std::function<void(ReplayResult)> done) {
  replayer_->submit(std::move(query), std::move(done));
}

std::optional<EventId> PostgresStore::position() const {
  // The head read at migration, raised by every commit and read since: never
  // above what the database holds.
  return EventId{shared_->epoch, shared_->known_head.load()};
}

bool PostgresStore::ready() const {
  return shared_->status.connected();
}

std::string PostgresStore::health_json() const {
  auto s = shared_->status.snapshot();
  nlohmann::json j = {
      {"kind", "postgres"},
      {"state", s.connected ? "ready" : "unavailable"},
      {"connected", s.connected},
      {"epoch", shared_->epoch},
      {"lastError", s.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.last_error)},
      {"lastErrorAt",
       s.last_error_unix_ms == 0 ? nlohmann::json(nullptr) : nlohmann::json(s.last_error_unix_ms)},
      {"replayPool",
       {{"inUse", replayer_->in_use()},
        {"size", replayer_->size()},
        {"queued", replayer_->queued()}}},
      {"publishQueued", publisher_->queued_events()},
  };
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void PostgresStore::render_metrics(std::string& out) const {
  const PgShared& s = *shared_;
  append_metric(out, "ssehub_postgres_up", "gauge", "1 while the database answers.",
                s.status.connected() ? 1 : 0);
  append_metric(out, "ssehub_postgres_replay_pool_in_use", "gauge", "Replay queries running now.",
                static_cast<double>(replayer_->in_use()));
  append_metric(out, "ssehub_postgres_replay_pool_size", "gauge",
                "Replay threads (replay.max_concurrent).", static_cast<double>(replayer_->size()));
  append_metric(out, "ssehub_postgres_replay_queued", "gauge", "Replays waiting for a thread.",
                static_cast<double>(replayer_->queued()));
  append_metric(out, "ssehub_postgres_replay_queries_total", "counter",
                "Replay queries that returned.", static_cast<double>(s.replay_queries.load()));
  append_metric(out, "ssehub_postgres_replays_busy_total", "counter",
                "Replays refused because no slot freed in time.",
                static_cast<double>(s.replays_busy.load()));
  append_metric(out, "ssehub_postgres_publish_queued_events", "gauge",
                "Events waiting for the next commit.",
                static_cast<double>(publisher_->queued_events()));
  append_metric(out, "ssehub_postgres_commits_total", "counter", "Publish transactions committed.",
                static_cast<double>(s.commits.load()));
  append_metric(out, "ssehub_postgres_commit_failures_total", "counter",
                "Publish transactions that failed.", static_cast<double>(s.commit_failures.load()));
  append_metric(out, "ssehub_postgres_unordered_commits_total", "counter",
                "Publish transactions committed without the publish lock (another replica held "
                "it too long).",
                static_cast<double>(s.unordered_commits.load()));
  append_metric(out, "ssehub_postgres_pruned_events_total", "counter",
                "Events deleted by retention.", static_cast<double>(s.pruned.load()));
  s.commit_batch.render(out, "ssehub_postgres_commit_batch_size",
                        "Events per publish transaction.");
  s.commit_seconds.render(out, "ssehub_postgres_commit_duration_seconds",
                          "Publish transaction latency, lock to unlock.");
}

}  // namespace ssehub
