#include "ssehub/hub.hpp"

#include "ssehub/sse_frame.hpp"
#include "ssehub/worker.hpp"

namespace ssehub {

void Hub::dispatch(EventBatchPtr batch) {
  auto fanout = std::make_shared<FanoutBatch>();
  fanout->frames.reserve(batch->size());
  for (const Event& ev : *batch) {
    fanout->frames.push_back(
        std::make_shared<const std::string>(encode_event(ev.id, ev.type, ev.data)));
  }
  fanout->events = std::move(batch);
  std::shared_ptr<const FanoutBatch> shared = std::move(fanout);
  for (Worker* w : workers_) {
    net::post(w->io(), [w, shared] { w->deliver(*shared); });
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
