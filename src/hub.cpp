#include "ssehub/hub.hpp"

#include <algorithm>

#include "ssehub/sse_frame.hpp"
#include "ssehub/worker.hpp"

namespace ssehub {

std::vector<std::vector<std::uint32_t>> route_events(const EventBatch& batch,
                                                     const TopicWorkers& where,
                                                     std::size_t workers) {
  std::vector<std::vector<std::uint32_t>> routes(workers);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto it = where.find(batch[i].topic);
    if (it == where.end()) continue;
    for (std::size_t w = 0; w < workers && w < it->second.size(); ++w) {
      if (it->second[w]) routes[w].push_back(static_cast<std::uint32_t>(i));
    }
  }
  return routes;
}

void Hub::dispatch(EventBatchPtr batch) {
  std::vector<std::vector<std::uint32_t>> routes;
  {
    std::lock_guard lock(mutex_);
    routes = route_events(*batch, topic_workers_, workers_.size());
  }
  // Each event is encoded once, for the workers that want it.
  std::vector<std::string> encoded(batch->size());
  for (const auto& picks : routes) {
    for (auto i : picks) {
      if (encoded[i].empty()) {
        const Event& ev = (*batch)[i];
        encoded[i] = encode_event(ev.id, ev.type, ev.data);
      }
    }
  }
  // Each worker gets its own copy of the bytes, shared by all of its streams, so
  // reference counts never bounce between cores during fan-out.
  for (std::size_t w = 0; w < workers_.size(); ++w) {
    if (routes[w].empty()) continue;
    auto fanout = std::make_shared<FanoutBatch>();
    fanout->events = batch;
    fanout->frames.reserve(routes[w].size());
    for (auto i : routes[w])
      fanout->frames.push_back(std::make_shared<const std::string>(encoded[i]));
    fanout->picks = std::move(routes[w]);
    workers_[w]->enqueue_fanout(std::move(fanout));
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

}  // namespace ssehub
