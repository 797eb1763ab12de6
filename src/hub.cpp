#include "ssehub/hub.hpp"

#include "ssehub/sse_frame.hpp"
#include "ssehub/worker.hpp"

namespace ssehub {

void Hub::dispatch(EventBatchPtr batch) {
  std::vector<std::string> encoded;
  encoded.reserve(batch->size());
  for (const Event& ev : *batch) encoded.push_back(encode_event(ev.id, ev.type, ev.data));
  // Each worker gets its own copy of the bytes, shared by all of its streams, so
  // reference counts never bounce between cores during fan-out.
  for (Worker* w : workers_) {
    auto fanout = std::make_shared<FanoutBatch>();
    fanout->events = batch;
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

void Hub::topic_joined(const std::string& topic) {
  std::lock_guard lock(mutex_);
  if (topic_refs_[topic]++ == 0) bus_.topic_added(topic);
}

void Hub::topic_left(const std::string& topic) {
  std::lock_guard lock(mutex_);
  auto it = topic_refs_.find(topic);
  if (it == topic_refs_.end()) return;
  if (--it->second == 0) {
    topic_refs_.erase(it);
    bus_.topic_removed(topic);
  }
}

std::size_t Hub::topic_count() const {
  std::lock_guard lock(mutex_);
  return topic_refs_.size();
}

}  // namespace ssehub
