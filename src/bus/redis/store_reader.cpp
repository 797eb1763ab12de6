#include "bus/redis/store_reader.hpp"

#include <stdexcept>

#include "platform/deadline_scheduler.hpp"
#include "store/postgres/pg_link.hpp"
#include "store/postgres/pg_rows.hpp"
#include "store/postgres/pg_sql.hpp"

namespace ssehub {

struct StoreReader::Link {
  Link(const std::string& url, std::chrono::milliseconds timeout)
      : pg(url, "redis-recovery", status, timeout) {}
  PgStatus status;
  PgLink pg;
  CallWatch watch;
  DeadlineScheduler scheduler;
};

StoreReader::StoreReader(const std::string& postgres_url, std::size_t limit,
                         std::chrono::milliseconds timeout)
    : link_(std::make_unique<Link>(postgres_url, timeout)), limit_(limit), timeout_(timeout) {}

StoreReader::~StoreReader() = default;

// The scheduler keeps running: a call begun after this still has its deadline.
void StoreReader::interrupt() {
  link_->watch.interrupt();
}

std::uint64_t StoreReader::read_head_and_epoch() {
  try {
    auto row = link_->pg.guarded(link_->watch, link_->scheduler, timeout_, [](pqxx::connection& c) {
      pqxx::nontransaction n(c);
      return n.exec1(pg::kHeadSql);
    });
    epoch_ = row[0].as<std::string>();
    return row[1].as<std::uint64_t>();
  } catch (...) {
    throw std::runtime_error("reading the store head: " + link_->pg.fail(&link_->watch).message);
  }
}

std::optional<std::uint64_t> StoreReader::head() {
  try {
    return link_->pg.guarded(link_->watch, link_->scheduler, timeout_ / 2, [](pqxx::connection& c) {
      pqxx::nontransaction n(c);
      return n.exec1(pg::kHeadSql)[1].as<std::uint64_t>();
    });
  } catch (...) {
    link_->pg.fail(&link_->watch);
    return std::nullopt;
  }
}

sub::Recovered StoreReader::read_after(std::uint64_t after,
                                       const std::vector<std::string>& topics) {
  pqxx::result rows;
  try {
    std::vector<std::string_view> names(topics.begin(), topics.end());
    rows = link_->pg.guarded(link_->watch, link_->scheduler, timeout_, [&](pqxx::connection& c) {
      pqxx::nontransaction n(c);
      return n.exec_params(pg::kReplaySql, pg::text_array(names), after, limit_ + 1, epoch_);
    });
  } catch (...) {
    throw std::runtime_error(link_->pg.fail(&link_->watch).message);
  }
  if (rows.empty()) throw std::runtime_error("the ssehub_meta row is missing");
  sub::Recovered r;
  r.window = pg::replay_window(rows);
  r.found = pg::event_row_count(rows, pg::kReplayEventColumn);
  if (r.found <= limit_) r.events = pg::events_from_rows(rows, pg::kReplayEventColumn, epoch_);
  return r;
}

}  // namespace ssehub
