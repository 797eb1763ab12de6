#include "store/postgres/pg_replayer.hpp"

#include <spdlog/spdlog.h>

#include "platform/stop_flag.hpp"
#include "store/postgres/pg_rows.hpp"
#include "store/postgres/pg_shared.hpp"
#include "store/postgres/pg_sql.hpp"

namespace ssehub {

bool PgReplayer::Job::settle(ReplayResult r) {
  if (settled.exchange(true)) return false;
  done(std::move(r));
  return true;
}

PgReplayer::PgReplayer(PgShared& shared, std::size_t threads, std::chrono::milliseconds timeout)
    : shared_(shared), timeout_(timeout) {
  for (std::size_t i = 0; i < threads; ++i) {
    watches_.push_back(std::make_unique<CallWatch>());
  }
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this, i] { run(i); });
}

PgReplayer::~PgReplayer() {
  stop();
}

void PgReplayer::stop() {
  if (!raise_stop(mutex_, stopping_, wake_)) return;
  for (auto& w : watches_) w->interrupt();
  for (auto& t : threads_) t.join();
  for (auto& j : queue_) j->settle(failure(FailureReason::unavailable, "the server is stopping"));
  queue_.clear();
}

std::size_t PgReplayer::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

ReplayResult PgReplayer::failure(FailureReason reason, std::string why) const {
  ReplayResult r;
  r.failure = reason;
  r.error = std::move(why);
  r.epoch = shared_.epoch;
  r.known_head = shared_.known_head.load();
  return r;
}

void PgReplayer::submit(ReplayQuery query, std::function<void(ReplayResult)> done) {
  auto job = std::make_shared<Job>();
  job->query = std::move(query);
  job->done = std::move(done);
  job->deadline = std::chrono::steady_clock::now() + timeout_;
  std::weak_ptr<Job> weak = job;
  job->timer = shared_.scheduler.schedule(job->deadline, [this, weak] { expire(weak); });
  std::unique_lock lock(mutex_);
  const bool stopping = stopping_;
  if (!stopping && queue_.size() < kMaxQueued) {
    queue_.push_back(job);
    lock.unlock();
    wake_.notify_one();
    return;
  }
  lock.unlock();
  shared_.scheduler.cancel(job->timer);
  if (!stopping) bump(shared_.replays_busy);
  job->settle(failure(stopping ? FailureReason::unavailable : FailureReason::busy,
                      stopping ? "the server is stopping" : "the replay queue is full"));
}

// At the deadline: a running query is interrupted (`timeout`); one that never
// started failed to get a slot (`busy`) or a connection (`unavailable`).
void PgReplayer::expire(const std::weak_ptr<Job>& weak) {
  auto j = weak.lock();
  if (!j) return;
  std::lock_guard jl(j->mutex);
  if (j->watch) {
    if (j->settle(failure(FailureReason::timeout, "the query ran past replay.timeout_ms"))) {
      j->watch->interrupt();
    }
    return;
  }
  bool down = !shared_.status.connected();
  if (j->settle(
          failure(down ? FailureReason::unavailable : FailureReason::busy,
                  down ? "postgres is unavailable" : "no replay slot within replay.timeout_ms"))) {
    if (!down) bump(shared_.replays_busy);
  }
}

void PgReplayer::run(std::size_t index) {
  CallWatch& watch = *watches_[index];
  PgLink link(shared_.conninfo, "replay", shared_.status, timeout_);
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    {
      std::lock_guard jl(job->mutex);
      if (!job->settled) {
        watch.rearm();
        job->watch = &watch;
      }
    }
    if (job->watch) {
      in_use_.fetch_add(1);
      ReplayResult r = query(link, watch, job->query);
      in_use_.fetch_sub(1);
      {
        std::lock_guard jl(job->mutex);
        job->watch = nullptr;
      }
      shared_.scheduler.cancel(job->timer);
      job->settle(std::move(r));
    }
    lock.lock();
  }
}

ReplayResult PgReplayer::query(PgLink& link, CallWatch& watch, const ReplayQuery& q) {
  std::vector<std::string_view> topics(q.topics.begin(), q.topics.end());
  const bool has_id = q.after.kind == LastEventId::Kind::id;
  try {
    pqxx::result rows = link.watched(watch, [&](pqxx::connection& c) {
      pqxx::nontransaction n(c);
      return n.exec_params(pg::kReplaySql, pg::text_array(topics), has_id ? q.after.id.seq : 0,
                           q.limit + 1, has_id ? q.after.id.epoch : std::string());
    });
    bump(shared_.replay_queries);
    ReplayResult r;
    r.ok = true;
    ReplaySnapshot& snap = r.snapshot;
    snap.window = pg::replay_window(rows);
    r.epoch = snap.window.epoch;
    shared_.saw_head(snap.window.head_seq);
    snap.check = check_requested_id(q.after, snap.window);
    if (snap.check == IdCheck::ok) {
      snap.events = pg::events_from_rows(rows, pg::kReplayEventColumn, snap.window.epoch);
    }
    return r;
  } catch (...) {
    PgFailure f = link.fail(&watch);
    return failure(f.reason, f.message);
  }
}

}  // namespace ssehub
