#pragma once
// The local bus on the Postgres store: each replica follows the event log itself.
// A commit announces itself with NOTIFY; the follower thread then reads the rows
// after the last seq it delivered, in seq order, and hands them to the hub. Ids
// commit in id order (the store's ordered section), so reading by seq has no gap,
// and several replicas on one database see every event without Redis. After a
// lost connection it reconnects and goes on from the last seq it delivered.
//
// Threads: start()/stop() from the server thread; the sink runs on the follower
// thread. Lifetime: stop() joins the thread.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "bus/event_bus.hpp"
#include "store/postgres/pg_link.hpp"

namespace ssehub {

class PgLogBus final : public EventBus {
 public:
  // A follower further behind than `max_behind` events (or behind the retention
  // horizon) signals a gap at the head instead of reading on (see catch_up.hpp).
  PgLogBus(const std::string& conninfo, std::uint64_t max_behind);
  ~PgLogBus() override;

  std::string_view kind() const override { return "local"; }
  // Reads the current head synchronously (events committed before start are not
  // delivered live), then follows; throws std::runtime_error if the database
  // cannot be reached.
  void start(BatchSink sink) override;
  void publish(EventBatchPtr) override {}  // the log is the bus
  void set_gap_sink(GapSink sink) override { gap_sink_ = std::move(sink); }
  // False while the follower is reconnecting, or when it has made no progress for
  // kStallAfter (a call stuck past its deadline).
  bool ready() const override;
  std::string health_json() const override;
  void render_metrics(std::string& out) const override;
  void stop() override;

  static constexpr std::size_t kPage = 1000;
  // About ten seconds of the highest publish rate measured (docs/benchmarks.md): a
  // follower back from a short stall reads on; one back from a long outage is told
  // to re-hydrate instead of flooding its streams.
  static constexpr std::uint64_t kMaxBehind = 500000;
  static constexpr long kPollMicros = 500000;  // reads even without a NOTIFY
  // Every call is interrupted past this, and the follower reconnects on a new
  // connection (a stopped backend does not hold it); also the statement_timeout.
  static constexpr std::chrono::milliseconds kCallTimeout{2000};
  static constexpr std::chrono::milliseconds kStallAfter{3 * kCallTimeout};

 private:
  void run();
  void listen(pqxx::connection& c);
  // Delivers everything committed after last_seq_; returns the events delivered.
  std::size_t catch_up();

  PgStatus status_;
  PgLink link_;
  CallWatch watch_;
  DeadlineScheduler scheduler_;
  std::atomic<std::int64_t> progress_ns_{0};  // steady clock of the last completed round
  BatchSink sink_;
  GapSink gap_sink_;
  const std::uint64_t max_behind_;
  std::string epoch_;
  std::atomic<std::uint64_t> last_seq_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::uint64_t> gaps_{0};
  std::atomic<bool> following_{false};
  std::atomic<bool> stopping_{false};
  bool listening_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
  void made_progress();
};

}  // namespace ssehub
