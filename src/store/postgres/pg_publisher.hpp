#pragma once
// The Postgres store's publish path: a bounded queue of publish requests and one
// thread that commits whatever is waiting as one transaction inside the ordered
// section (see PostgresStore).
//
// A request is queued, then claimed by a transaction, then settled, each by one
// atomic transition. A queued request still waiting at its deadline is answered
// as failed and never written. A claimed one is answered with its transaction's
// outcome: the transaction has a deadline of its own (store.publish_timeout_ms
// from its start), past which the call is interrupted, so one request's deadline
// never fails the others sharing its transaction, and every answer comes within
// twice the timeout.
//
// Threads: submit() from any thread; the rest runs on the publisher thread.
// Lifetime: stop() joins the thread and fails what is still queued.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "store/event_store.hpp"
#include "store/postgres/pg_link.hpp"

namespace ssehub {

struct PgShared;

class PgPublisher {
 public:
  PgPublisher(PgShared& shared, std::chrono::milliseconds timeout);
  ~PgPublisher();

  void submit(std::vector<NewEvent> events, OrderedPublish publish,
              std::function<void(AppendResult)> done);
  void stop();
  std::size_t queued_events() const;

  // Bounds on one transaction and on what may wait for the next.
  static constexpr std::size_t kMaxBatchEvents = 5000;
  static constexpr std::size_t kMaxBatchBytes = 8 << 20;
  static constexpr std::size_t kMaxQueuedEvents = 50000;

 private:
  struct Request {
    std::vector<NewEvent> events;
    std::size_t bytes = 0;
    OrderedPublish publish;
    std::function<void(AppendResult)> done;
    enum State : int { queued, claimed, settled };
    std::atomic<int> state{queued};
    std::uint64_t timer = 0;
    // queued -> claimed: it is in a transaction from now on.
    bool claim();
    // Answers the caller once: from `from` (queued at the deadline, claimed after
    // its transaction).
    bool settle(State from, AppendResult r);
  };
  using Batch = std::vector<std::shared_ptr<Request>>;

  void run();
  Batch take_batch(std::unique_lock<std::mutex>& lock);
  void commit(const Batch& batch);
  // Commits the batch in one transaction; returns the failure, if any.
  std::optional<PgFailure> try_commit(const Batch& batch);
  // Takes the publish lock; false when it could not (committed without it).
  bool enter_section(pqxx::connection& c);
  bool lock_section(pqxx::connection& c, std::chrono::milliseconds wait);
  void fail_all(const Batch& batch, const std::string& why);

  PgShared& shared_;
  const std::chrono::milliseconds timeout_;
  PgLink link_;
  CallWatch watch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Request>> queue_;
  std::size_t queued_events_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ssehub
