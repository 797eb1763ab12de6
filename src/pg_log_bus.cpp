#include "ssehub/pg_log_bus.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "ssehub/event_id.hpp"
#include "ssehub/metrics.hpp"
#include "ssehub/pg_sql.hpp"

namespace ssehub {

PgLogBus::PgLogBus(std::string conninfo) : link_(std::move(conninfo), "follow", status_) {}

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
  spdlog::info("following the postgres event log from seq {}", last_seq_.load());
  thread_ = std::thread([this] { run(); });
}

void PgLogBus::stop() {
  if (stopping_.exchange(true)) return;
  watch_.interrupt();
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PgLogBus::listen(pqxx::connection& c) {
  pqxx::nontransaction n(c);
  n.exec("LISTEN " + std::string(pg::kNotifyChannel));
  listening_ = true;
}

std::size_t PgLogBus::catch_up(pqxx::connection& c) {
  std::size_t total = 0;
  while (!stopping_) {
    pqxx::nontransaction n(c);
    auto rows = n.exec_params(pg::kFollowSql, last_seq_.load(), kPage);
    if (rows.empty()) break;
    auto batch = std::make_shared<EventBatch>();
    batch->reserve(rows.size());
    for (const auto& row : rows) {
      Event ev;
      ev.seq = row[0].as<std::uint64_t>();
      ev.topic = row[1].as<std::string>();
      ev.type = row[2].as<std::string>();
      ev.data = row[3].as<std::string>();
      batch->push_back(std::move(ev));
    }
    last_seq_ = batch->back().seq;
    total += batch->size();
    for (auto& ev : *batch) ev.id = format_event_id(epoch_, ev.seq);
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
      pqxx::connection& c = link_.get();
      watch_.rearm();
      watch_.attach(c.sock());
      if (stopping_) break;
      if (!listening_) {
        listen(c);
        ++reconnects_;
        spdlog::info("postgres log follower reconnected; resuming after seq {}", last_seq_.load());
      }
      following_ = true;
      backoff = std::chrono::milliseconds(100);
      catch_up(c);
      c.await_notification(0, kPollMicros);
      watch_.detach();
    } catch (...) {
      watch_.detach();
      if (stopping_) break;
      listening_ = false;
      following_ = false;
      PgFailure f = link_.fail();
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
  append_metric(out, "ssehub_log_follower_reconnects_total", "counter",
                "Times the follower reconnected and caught up.",
                static_cast<double>(reconnects_.load()));
}

}  // namespace ssehub
