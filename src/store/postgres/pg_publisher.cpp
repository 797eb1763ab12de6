#include "store/postgres/pg_publisher.hpp"

#include <spdlog/spdlog.h>

#include "core/event_id.hpp"
#include "platform/stop_flag.hpp"
#include "store/postgres/pg_shared.hpp"
#include "store/postgres/pg_sql.hpp"

namespace ssehub {
namespace {

AppendResult failed(std::string why) {
  AppendResult r;
  r.error = std::move(why);
  return r;
}

}  // namespace

bool PgPublisher::Request::claim() {
  int expected = queued;
  return state.compare_exchange_strong(expected, claimed);
}

bool PgPublisher::Request::settle(State from, AppendResult r) {
  int expected = from;
  if (!state.compare_exchange_strong(expected, settled)) return false;
  done(std::move(r));
  return true;
}

PgPublisher::PgPublisher(PgShared& shared, std::chrono::milliseconds timeout)
    : shared_(shared),
      timeout_(timeout),
      link_(shared.conninfo, "publish", shared.status, timeout),
      thread_([this] { run(); }) {}

PgPublisher::~PgPublisher() {
  stop();
}

void PgPublisher::stop() {
  if (!raise_stop(mutex_, stopping_, wake_)) return;
  watch_.interrupt();
  thread_.join();
  for (auto& r : queue_) r->settle(Request::queued, failed("the server is stopping"));
  queue_.clear();
}

std::size_t PgPublisher::queued_events() const {
  std::lock_guard lock(mutex_);
  return queued_events_;
}

void PgPublisher::submit(std::vector<NewEvent> events, OrderedPublish publish,
                         std::function<void(AppendResult)> done) {
  auto req = std::make_shared<Request>();
  for (const auto& e : events) req->bytes += e.topic.size() + e.type.size() + e.data.size() + 16;
  req->events = std::move(events);
  req->publish = std::move(publish);
  req->done = std::move(done);
  // Still queued at the deadline: answered, and never written. A claimed one is
  // answered with its transaction.
  std::weak_ptr<Request> weak = req;
  req->timer = shared_.scheduler.schedule(std::chrono::steady_clock::now() + timeout_, [weak] {
    if (auto r = weak.lock()) {
      r->settle(Request::queued,
                failed("the store did not commit within store.publish_timeout_ms"));
    }
  });
  std::unique_lock lock(mutex_);
  const bool stopping = stopping_;
  const bool full = queued_events_ + req->events.size() > kMaxQueuedEvents;
  if (!stopping && !full) {
    queued_events_ += req->events.size();
    queue_.push_back(req);
    lock.unlock();
    wake_.notify_one();
    return;
  }
  lock.unlock();
  shared_.scheduler.cancel(req->timer);
  if (full) spdlog::warn("publish refused: {} events already wait for the store", kMaxQueuedEvents);
  req->settle(Request::queued,
              failed(stopping ? "the server is stopping"
                              : "too many events wait for the store; retry later"));
}

void PgPublisher::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Batch batch = take_batch(lock);
    lock.unlock();
    if (!batch.empty()) commit(batch);
    link_.drop_if_interrupted(watch_);
    for (auto& r : batch) shared_.scheduler.cancel(r->timer);
    lock.lock();
  }
}

PgPublisher::Batch PgPublisher::take_batch(std::unique_lock<std::mutex>&) {
  Batch batch;
  std::size_t events = 0, bytes = 0;
  while (!queue_.empty()) {
    auto& next = queue_.front();
    if (!batch.empty() &&
        (events + next->events.size() > kMaxBatchEvents || bytes + next->bytes > kMaxBatchBytes)) {
      break;
    }
    queued_events_ -= next->events.size();
    // One that timed out while queued is dropped unwritten.
    if (next->claim()) {
      events += next->events.size();
      bytes += next->bytes;
      batch.push_back(std::move(next));
    }
    queue_.pop_front();
  }
  return batch;
}

void PgPublisher::commit(const Batch& batch) {
  auto failure = try_commit(batch);
  if (!failure) return;
  // A data error in one request must not fail the others: commit each alone.
  if (failure->reason == FailureReason::error && batch.size() > 1) {
    spdlog::warn("batched commit of {} requests failed ({}); committing them one by one",
                 batch.size(), failure->message);
    for (const auto& r : batch) {
      if (auto f = try_commit(Batch{r})) fail_all(Batch{r}, f->message);
    }
    return;
  }
  fail_all(batch, failure->message);
}

void PgPublisher::fail_all(const Batch& batch, const std::string& why) {
  bump(shared_.commit_failures);
  spdlog::error("publish of {} requests failed: {}", batch.size(), why);
  for (const auto& r : batch) r->settle(Request::claimed, failed(why));
}

bool PgPublisher::lock_section(pqxx::connection& c, std::chrono::milliseconds wait) {
  try {
    pqxx::nontransaction n(c);
    n.exec_params(pg::kPublishLockSql, pg::kPublishLock, std::to_string(wait.count()),
                  std::to_string(timeout_.count()));
    return true;
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() != "55P03") throw;  // anything but the lock wait's own timeout
    return false;
  }
}

// The ordered section keeps live publication in commit order. A replica never
// waits on it for long: a frozen holder's session ends by its own idle timeouts,
// or, frozen half-way through sending a statement, is ended here; if the lock is
// still not free, the batch commits without it. Live publication may then be out
// of commit order, which subscribers detect and fill from the store.
bool PgPublisher::enter_section(pqxx::connection& c) {
  const auto wait = timeout_ / 3;
  if (lock_section(c, wait)) return true;
  try {
    pqxx::nontransaction n(c);
    auto ended =
        n.exec_params1(pg::kBreakPublishLockSql, pg::kPublishLock, std::to_string(wait.count()))[0]
            .as<long long>();
    if (ended > 0) {
      spdlog::warn(
          "publish: ended {} Postgres session(s) that held the publish lock while "
          "waiting on their client for over {} ms (a frozen replica)",
          ended, wait.count());
    }
  } catch (const pqxx::sql_error& e) {
    spdlog::warn("publish: could not end a stalled holder of the publish lock: {}", e.what());
  }
  if (lock_section(c, wait / 2)) return true;
  bump(shared_.unordered_commits);
  spdlog::warn(
      "publish: the publish lock stayed held for {} ms; committing without it (live "
      "order is restored from the store)",
      (wait + wait / 2).count());
  return false;
}

std::optional<PgFailure> PgPublisher::try_commit(const Batch& batch) {
  std::vector<std::string_view> topics, types, data;
  for (const auto& r : batch) {
    for (const auto& e : r->events) {
      topics.push_back(e.topic);
      types.push_back(e.type);
      data.push_back(e.data);
    }
  }
  if (topics.empty()) return std::nullopt;
  const auto started = std::chrono::steady_clock::now();
  bool locked = false;
  bool committed = false;
  try {
    // The transaction's own deadline: a stopped server cannot hold the ordered section.
    link_.guarded(watch_, shared_.scheduler, timeout_, [&](pqxx::connection& c) {
      locked = enter_section(c);
      pqxx::work w(c);
      pqxx::row row = w.exec_params1(pg::kAppendSql, topics.size(), pg::text_array(topics),
                                     pg::text_array(types), pg::text_array(data));
      w.commit();
      committed = true;
      const auto base = row[0].as<std::uint64_t>();
      const std::string epoch = row[1].as<std::string>();
      shared_.saw_head(base + topics.size());
      // Still inside the ordered section: live publication in commit order.
      std::uint64_t seq = base;
      for (const auto& r : batch) {
        auto events = std::make_shared<EventBatch>(stored_events(std::move(r->events), epoch, seq));
        seq += events->size();
        AppendResult result;
        result.ok = true;
        for (const auto& ev : *events) result.ids.push_back(ev.id);
        if (r->publish) r->publish(std::move(events));
        r->settle(Request::claimed, std::move(result));
      }
      if (locked) {
        pqxx::nontransaction n(c);
        n.exec_params(pg::kPublishUnlockSql, pg::kPublishLock);
      }
      return 0;
    });
    bump(shared_.commits);
    shared_.commit_batch.observe(static_cast<double>(topics.size()));
    shared_.commit_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return std::nullopt;
  } catch (...) {
    PgFailure f = link_.fail(&watch_);
    // A session lock must not outlive a failed transaction on a kept connection.
    if (locked && link_.open()) {
      try {
        pqxx::nontransaction n(link_.get());
        n.exec_params(pg::kPublishUnlockSql, pg::kPublishLock);
      } catch (...) {
        link_.reset();
      }
    }
    // Committed, published and answered: only the unlock failed (the session was
    // ended, which released the lock). The batch must not be written again.
    if (committed) {
      spdlog::warn("publish: failed after the commit: {}", f.message);
      // Any request not answered yet was stored: it must not be retried as failed
      // to write, nor left waiting.
      for (const auto& r : batch) {
        r->settle(Request::claimed,
                  failed("the events were stored, but confirming them failed: " + f.message));
      }
      return std::nullopt;
    }
    return f;
  }
}

}  // namespace ssehub
