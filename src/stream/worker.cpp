#include "stream/worker.hpp"

#include <spdlog/spdlog.h>

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
  }
  if (overflows > 0) {
    bump(ctx_.metrics.inbox_overflows);
    spdlog::warn("worker {} fell {} MiB behind its fan-out; its streams are told of the gap",
                 index_, kMaxInboxBytes >> 20);
  }
  if (was_empty) net::post(ioc_, [this] { drain_inbox(); });
}

void Worker::drain_inbox() {
  std::vector<std::shared_ptr<const FanoutBatch>> batches;
  {
    std::lock_guard lock(inbox_mutex_);
    batches = inbox_.take();
  }
  for (auto& b : batches) deliver(*b);
}

void Worker::deliver(const FanoutBatch& batch) {
  delivering_ = true;
  if (batch.gap_resume != 0) {
    // NOTE: signal_gap can close a stream; iterate over a copy.
    std::vector<StreamSession*> snapshot = sessions_;
    for (StreamSession* s : snapshot) {
      if (s->worker_pos_ != SIZE_MAX) s->signal_gap(batch.gap_epoch, batch.gap_resume);
    }
  }
  const EventBatch& events = *batch.events;
  const bool single = batch.picks.size() == 1;
  for (std::size_t k = 0; k < batch.picks.size(); ++k) {
    const Event& ev = events[batch.picks[k]];
    auto it = topics_.find(ev.topic);
    if (it == topics_.end()) continue;
    // NOTE: push_live can close a stream, which removes it from this very vector
    // (swap with the last member); walking backwards visits every member once.
    auto& members = it->second->members;
    for (std::size_t m = members.size(); m-- > 0;) {
      if (m >= members.size()) continue;
      members[m].session->push_live(ev.seq, batch.frames[k], single);
    }
  }
  finish_fanout();
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
  auto now_ms = unix_ms();
  auto frame = std::make_shared<const std::string>(
      encode_event("", "heartbeat", nlohmann::json{{"ts", now_ms}}.dump()));
  // Iterate over a copy: a push may close a stream and shrink sessions_.
  std::vector<StreamSession*> snapshot = sessions_;
  // A client that stays connected but reads nothing for four heartbeat intervals
  // is let go: its socket has been full, with no progress, all that time.
  const auto stall_limit = std::chrono::milliseconds(4 * ctx_.config.stream.heartbeat_ms);
  delivering_ = true;
  for (StreamSession* s : snapshot) {
    if (s->worker_pos_ == SIZE_MAX) continue;
    if (s->stalled(stall_watch_, now, stall_limit)) {
      bump(ctx_.metrics.slow_consumer_disconnects);
      s->close("stalled reader");
      continue;
    }
    s->push_control(frame);
  }
  bump_owned(counters_.heartbeats, snapshot.size());
  finish_fanout();
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
  constexpr auto kTick = milliseconds(20);
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
  if (sessions_.empty()) return;
  drain_timer_.expires_after(kTick);
  drain_timer_.async_wait([this](error_code ec) {
    if (!ec) drain_tick();
  });
}

}  // namespace ssehub
