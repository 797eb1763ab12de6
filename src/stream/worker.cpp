#include "stream/worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/sse_frame.hpp"
#include "platform/clock.hpp"
#include "stream/stream_session.hpp"

namespace ssehub {

Worker::Worker(std::size_t index, ServerContext& ctx, Hub& hub)
    : index_(index),
      ctx_(ctx),
      http_deps_(HttpDeps::of(ctx)),
      stream_deps_(StreamDeps::of(ctx)),
      hub_(hub),
      slice_streams_(ctx.config.stream.fanout_slice),
      work_(net::make_work_guard(ioc_)),
      heartbeat_timer_(ioc_),
      stall_watch_(std::chrono::milliseconds(ctx.config.stream.heartbeat_ms)),
      drain_timer_(ioc_),
      expiry_timer_(ioc_) {}

Worker::~Worker() {
  shutting_down_ = true;
  ioc_.stop();
}

void Worker::run() {
  net::post(ioc_, [this] {
    // The first tick: a pause before the first heartbeat is one too.
    stall_watch_.tick(std::chrono::steady_clock::now());
    arm_heartbeat();
    if (ctx_.auth.verifies()) arm_expiry_check();
  });
  ioc_.run();
}

void Worker::stop() {
  net::post(ioc_, [this] {
    heartbeat_timer_.cancel();
    drain_timer_.cancel();
    expiry_timer_.cancel();
    work_.reset();
    ioc_.stop();
  });
}

void Worker::add_session(StreamSession* s) {
  s->worker_pos_ = sessions_.size();
  sessions_.push_back(s);
}

void Worker::remove_session(StreamSession* s) {
  std::size_t pos = s->worker_pos_;
  if (pos >= sessions_.size() || sessions_[pos] != s) return;
  sessions_[pos] = sessions_.back();
  sessions_[pos]->worker_pos_ = pos;
  sessions_.pop_back();
  s->worker_pos_ = SIZE_MAX;
}

TopicEntry* Worker::join_topic(const std::string& topic, StreamSession* s, std::uint32_t slot,
                               std::size_t& index) {
  auto& entry = topics_[topic];
  if (!entry) {
    entry = std::make_unique<TopicEntry>();
    entry->topic = topic;
    hub_.topic_joined(index_, topic);
  }
  index = entry->members.size();
  entry->members.push_back({s, slot});
  return entry.get();
}

void Worker::leave_topic(TopicEntry* entry, std::size_t index) {
  auto& members = entry->members;
  if (index >= members.size()) return;
  members[index] = members.back();
  members[index].session->topic_index(members[index].slot) = index;
  members.pop_back();
  if (members.empty()) {
    // NOTE: during a fan-out the entry is being iterated; erase it afterwards.
    if (delivering_) {
      empty_topics_.push_back(entry->topic);
    } else {
      erase_topic(entry->topic);
    }
  }
}

// A copy: the entry that holds the name it is called with may be erased here.
void Worker::erase_topic(std::string topic) {  // NOLINT(performance-unnecessary-value-param)
  auto it = topics_.find(topic);
  if (it == topics_.end() || !it->second->members.empty()) return;
  topics_.erase(it);
  hub_.topic_left(index_, topic);
}

void Worker::finish_fanout() {
  delivering_ = false;
  for (auto& topic : std::exchange(empty_topics_, {})) erase_topic(topic);
  // One gathered write per stream for the whole batch.
  for (StreamSession* s : dirty_) s->flush();
  dirty_.clear();
}

void Worker::enqueue_fanout(std::shared_ptr<const FanoutBatch> batch) {
  bool was_empty;
  std::uint64_t overflows;
  {
    std::lock_guard lock(inbox_mutex_);
    overflows = inbox_.overflows();
    was_empty = inbox_.push(std::move(batch));
    overflows = inbox_.overflows() - overflows;
    waiting_events_.store(inbox_.events(), std::memory_order_relaxed);
    waiting_bytes_.store(inbox_.bytes(), std::memory_order_relaxed);
  }
  if (overflows > 0) {
    bump(ctx_.metrics.inbox_overflows);
    spdlog::warn("worker {} fell {} MiB behind its fan-out; its streams are told of the gap",
                 index_, kMaxInboxBytes >> 20);
  }
  if (was_empty) net::post(ioc_, [this] { on_inbox(); });
}

void Worker::on_inbox() {
  // A slice already queued takes the batch when its turn comes.
  if (!slice_posted_) run_slice();
}

void Worker::post_slice() {
  if (slice_posted_) return;
  slice_posted_ = true;
  net::post(ioc_, [this] { run_slice(); });
}

bool Worker::start_batch_pass() {
  std::vector<std::shared_ptr<const FanoutBatch>> batches;
  {
    std::lock_guard lock(inbox_mutex_);
    batches = inbox_.take_next(kMaxPassEvents);
    waiting_events_.store(inbox_.events(), std::memory_order_relaxed);
    waiting_bytes_.store(inbox_.bytes(), std::memory_order_relaxed);
  }
  if (batches.empty()) return false;
  if (batches.front()->gap_resume != 0) {
    batch_pass_.emplace(BatchPass{std::move(batches), {}, Pass::for_all(sessions_)});
    return true;
  }
  std::vector<PassEvent> events;
  std::vector<const TopicEntry*> topics;
  for (const auto& b : batches) {
    for (std::size_t k = 0; k < b->picks.size(); ++k) {
      const Event& ev = (*b->events)[b->picks[k]];
      auto it = topics_.find(ev.topic);
      events.push_back({ev.seq, &b->frames[k]});
      topics.push_back(it == topics_.end() ? nullptr : it->second.get());
    }
  }
  batch_pass_.emplace(
      BatchPass{std::move(batches), std::move(events), Pass::for_topics(topics, ++passes_)});
  return true;
}

void Worker::deliver_to(StreamSession& s, const BatchPass& p) {
  const FanoutBatch& first = *p.batches.front();
  if (first.gap_resume != 0) {
    if (s.worker_pos_ != SIZE_MAX) s.signal_gap(first.gap_epoch, first.gap_resume);
    return;
  }
  // A lone event may go straight to an idle socket; several leave in one write.
  const bool single = p.events.size() == 1;
  p.pass.for_each_pick(
      s, [&](std::size_t k) { s.push_live(p.events[k].seq, *p.events[k].frame, single); });
}

void Worker::start_heartbeats(std::chrono::steady_clock::time_point at) {
  auto frame = std::make_shared<const std::string>(
      encode_event("", "heartbeat", nlohmann::json{{"ts", unix_ms()}}.dump()));
  heartbeat_pass_.emplace(HeartbeatPass{std::move(frame), at, Pass::for_all(sessions_)});
}

void Worker::heartbeat_to(StreamSession& s) {
  if (s.worker_pos_ == SIZE_MAX) return;
  // A client that stays connected but reads nothing for four heartbeat intervals
  // is let go: its socket has been full, with no progress, all that time.
  const auto stall_limit = std::chrono::milliseconds(4 * ctx_.config.stream.heartbeat_ms);
  if (s.stalled(stall_watch_, heartbeat_pass_->at, stall_limit)) {
    bump(ctx_.metrics.slow_consumer_disconnects);
    s.close("stalled reader");
    return;
  }
  if (s.push_control(heartbeat_pass_->frame)) bump_owned(counters_.heartbeats);
}

// A round of heartbeats takes its share of each slice first, so that the stall
// check goes on while events saturate the worker; events take the rest, then
// heartbeats what is left. Each stream's frames of the slice leave in one
// gathered write at its end (finish_fanout).
void Worker::run_slice() {
  slice_posted_ = false;
  delivering_ = true;
  std::size_t budget = slice_streams_;
  auto heartbeats = [&](std::size_t n) {
    if (!heartbeat_pass_) return;
    budget -= heartbeat_pass_->pass.step(n, [&](StreamSession& s) { heartbeat_to(s); });
    if (!heartbeat_pass_->pass.done()) return;
    heartbeat_pass_.reset();
    if (heartbeat_due_) start_heartbeats(*std::exchange(heartbeat_due_, std::nullopt));
  };
  heartbeats(heartbeat_share(slice_streams_, slices_++));
  while (budget > 0 && (batch_pass_ || start_batch_pass())) {
    const std::size_t served =
        batch_pass_->pass.step(budget, [&](StreamSession& s) { deliver_to(s, *batch_pass_); });
    // A batch none of whose streams are here still costs its lookups.
    budget -= std::min(budget, std::max<std::size_t>(served, 1));
    if (batch_pass_->pass.done()) batch_pass_.reset();
  }
  heartbeats(budget);
  finish_fanout();
  bool more = batch_pass_ || heartbeat_pass_;
  if (!more) {
    std::lock_guard lock(inbox_mutex_);
    more = !inbox_.empty();
  }
  if (more) post_slice();
}

void Worker::schedule_flush(StreamSession* s) {
  if (delivering_) {
    dirty_.push_back(s);
  } else {
    s->flush();
  }
}

void Worker::arm_heartbeat() {
  heartbeat_timer_.expires_after(std::chrono::milliseconds(ctx_.config.stream.heartbeat_ms));
  heartbeat_timer_.async_wait([this](error_code ec) {
    if (ec) return;
    send_heartbeats();
    arm_heartbeat();
  });
}

void Worker::send_heartbeats() {
  const auto now = std::chrono::steady_clock::now();
  stall_watch_.tick(now);
  if (sessions_.empty()) return;
  if (heartbeat_pass_) {
    // The worker was that busy: the next round follows this one at once.
    heartbeat_due_ = now;
    return;
  }
  start_heartbeats(now);
  if (!slice_posted_) run_slice();
}

// Four times a second: streams whose token has expired end with `token-expired`.
void Worker::arm_expiry_check() {
  expiry_timer_.expires_after(std::chrono::milliseconds(250));
  expiry_timer_.async_wait([this](error_code ec) {
    if (ec) return;
    auto now = unix_seconds();
    std::vector<StreamSession*> expired;
    for (StreamSession* s : sessions_) {
      if (s->expires_at() != 0 && s->expires_at() <= now) expired.push_back(s);
    }
    for (StreamSession* s : expired) s->end_for_expiry();
    arm_expiry_check();
  });
}

void Worker::begin_drain(std::uint64_t window_ms) {
  // Streams end spread over most of the window, so clients do not all reconnect
  // at the same moment; the rest of the window lets the last writes finish.
  drain_end_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(window_ms * 7 / 10);
  drain_tick();
}

void Worker::drain_tick() {
  using namespace std::chrono;
  auto now = steady_clock::now();
  constexpr auto kTick = kDrainTick;
  // An event already acknowledged reaches the streams before they end: while a
  // pass runs or a batch waits, the drain waits too, for up to ten ticks.
  constexpr int kMaxDeferredTicks = 10;
  bool fanning_out = batch_pass_.has_value();
  if (!fanning_out) {
    std::lock_guard lock(inbox_mutex_);
    fanning_out = !inbox_.empty();
  }
  if (fanning_out && drain_deferred_ < kMaxDeferredTicks && now < drain_end_) {
    ++drain_deferred_;
    return arm_drain_tick();
  }
  std::size_t remaining_ticks =
      now >= drain_end_ ? 1 : static_cast<std::size_t>((drain_end_ - now) / kTick) + 1;
  std::size_t n = (sessions_.size() + remaining_ticks - 1) / remaining_ticks;
  // From the end of the list, skipping streams already ending: one whose socket
  // stays full stays listed (the stall check lets it go) and must not hold up the
  // rest. Ending a stream may remove it, moving the last one into its place: that
  // one was passed already.
  for (std::size_t i = sessions_.size(); i-- > 0 && n > 0;) {
    if (i >= sessions_.size() || sessions_[i]->ending()) continue;
    sessions_[i]->end_for_drain();
    --n;
  }
  if (!sessions_.empty()) arm_drain_tick();
}

void Worker::arm_drain_tick() {
  drain_timer_.expires_after(kDrainTick);
  drain_timer_.async_wait([this](error_code ec) {
    if (!ec) drain_tick();
  });
}

}  // namespace ssehub
