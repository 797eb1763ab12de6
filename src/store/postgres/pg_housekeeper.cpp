#include "store/postgres/pg_housekeeper.hpp"

#include <spdlog/spdlog.h>

#include "platform/stop_flag.hpp"
#include "store/postgres/pg_shared.hpp"
#include "store/postgres/pg_sql.hpp"

namespace ssehub {

PgHousekeeper::PgHousekeeper(PgShared& shared, std::uint64_t retention_hours,
                             std::chrono::milliseconds retention_interval)
    : shared_(shared),
      retention_hours_(retention_hours),
      retention_interval_(retention_interval),
      link_(shared.conninfo, "housekeeping", shared.status, std::chrono::milliseconds(30000)),
      thread_([this] { run(); }) {}

PgHousekeeper::~PgHousekeeper() {
  stop();
}

void PgHousekeeper::stop() {
  if (!raise_stop(mutex_, stopping_, wake_)) return;
  watch_.interrupt();
  thread_.join();
}

bool PgHousekeeper::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, d, [this] { return stopping_; });
}

void PgHousekeeper::run() {
  auto next_prune = std::chrono::steady_clock::now() + retention_interval_;
  do {
    check();
    if (std::chrono::steady_clock::now() >= next_prune) {
      prune();
      next_prune = std::chrono::steady_clock::now() + retention_interval_;
    }
  } while (sleep_for(std::min(kCheckInterval, retention_interval_)));
}

// A round trip under a deadline: a stopped server is seen as down within 2 s.
void PgHousekeeper::check() {
  try {
    link_.guarded(watch_, shared_.scheduler, kCheckTimeout, [](pqxx::connection& c) {
      pqxx::nontransaction n(c);
      n.exec("SELECT 1");
      return 0;
    });
    shared_.status.up();
  } catch (...) {
    PgFailure f = link_.fail(&watch_);
    shared_.status.down(f.message);
  }
}

// Every call has a deadline: a stopped server cannot hold the thread (and with
// it the health check) for longer than one call's.
void PgHousekeeper::prune() {
  if (!link_.open()) return;
  auto call = [this](auto&& fn) {
    return link_.guarded(watch_, shared_.scheduler, kPruneCallTimeout, fn);
  };
  try {
    const bool locked = call([](pqxx::connection& c) {
      pqxx::nontransaction n(c);
      return n.exec_params1("SELECT pg_try_advisory_lock($1::bigint)", pg::kRetentionLock)[0]
          .as<bool>();
    });
    if (!locked) return;  // another replica is pruning
    std::size_t total = 0;
    for (std::size_t i = 0; i < kMaxBatchesPerRound; ++i) {
      std::size_t n = call([this](pqxx::connection& c) { return prune_batch(c); });
      total += n;
      if (n < kPruneBatch || !sleep_for(std::chrono::milliseconds(10))) break;
    }
    call([](pqxx::connection& c) {
      pqxx::nontransaction n(c);
      n.exec_params("SELECT pg_advisory_unlock($1::bigint)", pg::kRetentionLock);
      return 0;
    });
    if (total > 0) {
      bump(shared_.pruned, total);
      spdlog::info("retention pruned {} events older than {} h", total, retention_hours_);
    }
  } catch (...) {
    PgFailure f = link_.fail(&watch_);
    spdlog::error("retention failed: {}", f.message);
  }
}

std::size_t PgHousekeeper::prune_batch(pqxx::connection& c) {
  pqxx::work w(c);
  auto oldest =
      w.exec_params(pg::kOldestSql, static_cast<long long>(retention_hours_), kPruneBatch);
  // Only a seq prefix goes, so "everything up to the horizon is gone" holds.
  std::uint64_t through = 0;
  std::size_t count = 0;
  for (const auto& row : oldest) {
    if (!row[1].as<bool>()) break;
    through = row[0].as<std::uint64_t>();
    ++count;
  }
  if (count == 0) {
    w.commit();
    return 0;
  }
  w.exec_params(pg::kPruneSql, through);
  w.commit();
  return count;
}

}  // namespace ssehub
