#include "store/memory/memory_store.hpp"
#include "platform/random.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace ssehub {

MemoryStore::MemoryStore(std::size_t capacity, std::string epoch)
    : capacity_(std::max<std::size_t>(capacity, 1)),
      epoch_(epoch.empty() ? random_token(8) : std::move(epoch)) {}

StoreWindow MemoryStore::window_locked() const {
  StoreWindow w;
  w.epoch = epoch_;
  w.head_seq = head_seq_;
  w.pruned_through = ring_.empty() ? head_seq_ : ring_.front().seq - 1;
  return w;
}

std::optional<EventId> MemoryStore::position() const {
  std::lock_guard lock(mutex_);
  return EventId{epoch_, head_seq_};
}

void MemoryStore::append(std::vector<NewEvent> batch, OrderedPublish publish,
                         std::function<void(AppendResult)> done) {
  AppendResult result;
  result.ok = true;
  result.ids.reserve(batch.size());
  {
    std::lock_guard lock(mutex_);
    auto events = std::make_shared<EventBatch>(stored_events(std::move(batch), epoch_, head_seq_));
    head_seq_ += events->size();
    for (const auto& ev : *events) {
      result.ids.push_back(ev.id);
      topic_seqs_[ev.topic].push_back(ev.seq);
      ring_.push_back(ev);
      if (ring_.size() > capacity_) {
        auto it = topic_seqs_.find(ring_.front().topic);
        it->second.pop_front();  // the oldest seq of its topic
        if (it->second.empty()) topic_seqs_.erase(it);
        ring_.pop_front();
      }
    }
    if (publish) publish(std::move(events));
  }
  done(std::move(result));
}

void MemoryStore::replay(ReplayQuery query, std::function<void(ReplayResult)> done) {
  ReplayResult result;
  result.ok = true;
  {
    std::lock_guard lock(mutex_);
    ReplaySnapshot& snap = result.snapshot;
    snap.window = window_locked();
    snap.check = check_requested_id(query.after, snap.window);
    if (snap.check == IdCheck::ok && !ring_.empty()) {
      // Each topic's first limit + 1 seqs after the id, merged: the first limit + 1
      // of their union. Seqs are contiguous in the ring, so each is found by arithmetic.
      std::vector<std::uint64_t> seqs;
      for (const auto& topic : query.topics) {
        auto it = topic_seqs_.find(topic);
        if (it == topic_seqs_.end()) continue;
        const auto& all = it->second;
        auto from = std::upper_bound(all.begin(), all.end(), query.after.id.seq);
        const auto n =
            std::min<std::size_t>(static_cast<std::size_t>(all.end() - from), query.limit + 1);
        seqs.insert(seqs.end(), from, from + static_cast<std::ptrdiff_t>(n));
      }
      std::sort(seqs.begin(), seqs.end());
      seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());  // a topic asked twice
      if (seqs.size() > query.limit + 1) seqs.resize(query.limit + 1);
      const std::uint64_t front = ring_.front().seq;
      snap.events.reserve(seqs.size());
      for (auto seq : seqs) snap.events.push_back(ring_[seq - front]);
    }
  }
  done(std::move(result));
}

std::string MemoryStore::health_json() const {
  std::lock_guard lock(mutex_);
  nlohmann::json j = {{"kind", "memory"},       {"state", "ready"},      {"epoch", epoch_},
                      {"events", ring_.size()}, {"capacity", capacity_}, {"headSeq", head_seq_}};
  return j.dump();
}

}  // namespace ssehub
