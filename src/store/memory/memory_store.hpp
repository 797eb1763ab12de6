#pragma once
// The embedded event log: a ring of the last `capacity` events, with a fresh epoch
// for every start. Thread-safe; one mutex is the ordered section, so appends and
// their live publication happen in id order. Replays run inline and never block
// on I/O: a per-topic index of seqs finds each topic's first event after the
// client's id by binary search, so a replay costs O(topics x (log n + limit)),
// not a scan of the ring.

#include <deque>
#include <mutex>
#include <unordered_map>

#include "store/event_store.hpp"

namespace ssehub {

class MemoryStore final : public EventStore {
 public:
  explicit MemoryStore(std::size_t capacity, std::string epoch = {});

  std::string_view kind() const override { return "memory"; }
  void append(std::vector<NewEvent> batch, OrderedPublish publish,
              std::function<void(AppendResult)> done) override;
  void replay(ReplayQuery query, std::function<void(ReplayResult)> done) override;
  std::optional<EventId> position() const override;
  bool ready() const override { return true; }
  std::string health_json() const override;

  const std::string& epoch() const { return epoch_; }

 private:
  StoreWindow window_locked() const;

  const std::size_t capacity_;
  const std::string epoch_;
  mutable std::mutex mutex_;
  std::deque<Event> ring_;  // seqs contiguous: ring_.front().seq .. head_seq_
  std::unordered_map<std::string, std::deque<std::uint64_t>> topic_seqs_;  // of the ring
  std::uint64_t head_seq_ = 0;
};

}  // namespace ssehub
