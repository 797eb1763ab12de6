#include "bus/pglog/pg_log_bus.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "bus/pglog/catch_up.hpp"
#include "observability/metrics.hpp"
#include "store/postgres/pg_rows.hpp"
#include "store/postgres/pg_sql.hpp"

namespace ssehub {

PgLogBus::PgLogBus(const std::string& conninfo, std::uint64_t max_behind)
    : link_(conninfo, "follow", status_, kCallTimeout), max_behind_(max_behind) {}

PgLogBus::~PgLogBus() {
  stop();
}

void PgLogBus::start(BatchSink sink) {
  sink_ = std::move(sink);
  try {
    pqxx::connection& c = link_.get();
    listen(c);
    pqxx::nontransaction n(c);
    auto head = n.exec1(pg::kHeadSql);
    epoch_ = head[0].as<std::string>();
    last_seq_ = head[1].as<std::uint64_t>();
  } catch (...) {
    PgFailure f = link_.fail();
    throw std::runtime_error("postgres log follower: " + f.message);
  }
  following_ = true;
  made_progress();
  spdlog::info("following the postgres event log from seq {}", last_seq_.load());
  thread_ = std::thread([this] { run(); });
}

void PgLogBus::stop() {
  if (stopping_.exchange(true)) return;
  watch_.interrupt();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  scheduler_.stop();
}

void PgLogBus::made_progress() {
  progress_ns_ = std::chrono::steady_clock::now().time_since_epoch().count();
}

bool PgLogBus::ready() const {
  const auto since = std::chrono::steady_clock::now().time_since_epoch().count() - progress_ns_;
  return following_.load() && std::chrono::nanoseconds(since) < kStallAfter;
}

void PgLogBus::listen(pqxx::connection& c) {
  pqxx::nontransaction n(c);
  n.exec("LISTEN " + std::string(pg::kNotifyChannel));
  listening_ = true;
}

std::size_t PgLogBus::catch_up() {
  std::size_t total = 0;
  while (!stopping_) {
    auto rows = link_.guarded(watch_, scheduler_, kCallTimeout, [&](pqxx::connection& c) {
      pqxx::nontransaction n(c);
      return n.exec_params(pg::kFollowSql, last_seq_.load(), kPage);
    });
    if (rows.empty()) throw std::runtime_error("the ssehub_meta row is missing");
    const auto head = rows[0][0].as<std::uint64_t>();
    const auto pruned = rows[0][1].as<std::uint64_t>();
    const CatchUp step = decide_catch_up(last_seq_, head, pruned, max_behind_);
    if (step.gap) {
      ++gaps_;
      spdlog::warn(
          "postgres log follower: after seq {} the log {}; streams get replay-truncated at {}",
          last_seq_.load(),
          last_seq_ < pruned ? "was pruned before it was read"
                             : "is more than " + std::to_string(max_behind_) + " events ahead",
          head);
      last_seq_ = head;
      if (gap_sink_) gap_sink_(epoch_, head);
      continue;
    }
    auto batch =
        std::make_shared<EventBatch>(pg::events_from_rows(rows, pg::kFollowEventColumn, epoch_));
    if (batch->empty()) break;
    last_seq_ = batch->back().seq;
    total += batch->size();
    sink_(std::move(batch));
    if (rows.size() < kPage) break;
  }
  delivered_ += total;
  return total;
}

void PgLogBus::run() {
  auto backoff = std::chrono::milliseconds(100);
  while (!stopping_) {
    try {
      if (!listening_) {
        link_.guarded(watch_, scheduler_, kCallTimeout, [&](pqxx::connection& c) {
          listen(c);
          return 0;
        });
        ++reconnects_;
        spdlog::info("postgres log follower reconnected; resuming after seq {}", last_seq_.load());
      }
      catch_up();
      following_ = true;
      made_progress();
      backoff = std::chrono::milliseconds(100);
      if (!link_.open()) {  // dropped after an interrupted call: LISTEN again
        listening_ = false;
        continue;
      }
      // Bounded by itself: returns after kPollMicros even if the server is stopped.
      link_.get().await_notification(0, kPollMicros);
    } catch (...) {
      if (stopping_) break;
      listening_ = false;
      following_ = false;
      PgFailure f = link_.fail(&watch_);
      spdlog::error("postgres log follower lost its connection: {}; retrying in {} ms", f.message,
                    backoff.count());
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, backoff, [this] { return stopping_.load(); });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }
}

std::string PgLogBus::health_json() const {
  auto s = status_.snapshot();
  nlohmann::json j = {
      {"kind", "local"},
      {"source", "postgres-log"},
      {"state", following_ ? "following" : "reconnecting"},
      {"lastSeq", last_seq_.load()},
      {"lastError", s.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.last_error)},
  };
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void PgLogBus::render_metrics(std::string& out) const {
  append_metric(out, "ssehub_log_follower_up", "gauge",
                "1 while this replica follows the postgres event log.", following_ ? 1 : 0);
  append_metric(out, "ssehub_log_follower_events_total", "counter",
                "Events read from the log and handed to the hub.",
                static_cast<double>(delivered_.load()));
  append_metric(out, "ssehub_log_follower_gaps_total", "counter",
                "Catch-ups that signalled a gap (log pruned before it was read, or too far "
                "behind).",
                static_cast<double>(gaps_.load()));
  append_metric(out, "ssehub_log_follower_reconnects_total", "counter",
                "Times the follower reconnected and caught up.",
                static_cast<double>(reconnects_.load()));
}

}  // namespace ssehub
