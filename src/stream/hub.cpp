#include "stream/hub.hpp"

#include <algorithm>

#include "core/sse_frame.hpp"
#include "stream/worker.hpp"

namespace ssehub {

void Hub::dispatch(const EventBatchPtr& batch) {
  // Every worker gets every event; which of its streams want one is decided on
  // its own thread, in order with streams joining. (Choosing workers here would
  // miss a stream that joins a topic while the batch waits in the inbox, beside
  // events of its other topics that were chosen for that worker.)
  std::vector<std::string> encoded;
  encoded.reserve(batch->size());
  for (const Event& ev : *batch) encoded.push_back(encode_event(ev.id, ev.type, ev.data, ev.topic));
  std::vector<std::uint32_t> all(batch->size());
  for (std::uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  // Each worker gets its own copy of the bytes, shared by all of its streams, so
  // reference counts never bounce between cores during fan-out.
  for (Worker* w : workers_) {
    auto fanout = std::make_shared<FanoutBatch>();
    fanout->events = batch;
    fanout->picks = all;
    fanout->frames.reserve(encoded.size());
    for (const auto& f : encoded) fanout->frames.push_back(std::make_shared<const std::string>(f));
    w->enqueue_fanout(std::move(fanout));
  }
}

void Hub::signal_gap(const std::string& epoch, std::uint64_t resume_seq) {
  for (Worker* w : workers_) {
    auto gap = std::make_shared<FanoutBatch>();
    gap->events = std::make_shared<const EventBatch>();
    gap->gap_resume = resume_seq;
    gap->gap_epoch = epoch;
    w->enqueue_fanout(std::move(gap));
  }
}

void Hub::topic_joined(std::size_t worker, const std::string& topic) {
  std::lock_guard lock(mutex_);
  auto& flags = topic_workers_[topic];
  const bool first = flags.empty();
  flags.resize(std::max({flags.size(), workers_.size(), worker + 1}), false);
  if (worker < flags.size()) flags[worker] = true;
  if (first) bus_.topic_added(topic);
}

void Hub::topic_left(std::size_t worker, const std::string& topic) {
  std::lock_guard lock(mutex_);
  auto it = topic_workers_.find(topic);
  if (it == topic_workers_.end()) return;
  if (worker < it->second.size()) it->second[worker] = false;
  if (std::find(it->second.begin(), it->second.end(), true) == it->second.end()) {
    topic_workers_.erase(it);
    bus_.topic_removed(topic);
  }
}

std::size_t Hub::topic_count() const {
  std::lock_guard lock(mutex_);
  return topic_workers_.size();
}

FanoutBacklog Hub::fanout_backlog() const {
  FanoutBacklog most;
  for (const Worker* w : workers_) {
    most.events = std::max(most.events, w->waiting_events());
    most.bytes = std::max(most.bytes, w->waiting_bytes());
  }
  return most;
}

}  // namespace ssehub
