#pragma once
// One fan-out pass of a worker, cut into slices: a batch of events, a gap signal
// or a round of heartbeats goes to its streams a bounded number of streams per
// handler, so that publishes, accepts, new streams and timers run in between.
//
// Who is served: the streams subscribed when the pass begins. A stream that joins
// later subscribed after every event of the batch was committed, so it misses
// nothing it was promised: its replay (with a Last-Event-ID) reads them from the
// store, and without one they came before its `ready`. A stream that closes
// between slices is still safe to touch (the pass holds a reference) and is
// skipped by the caller's check of its state. Each stream takes all of its events
// of the batch at once, in batch order, so it still sends them in one gathered
// write and per-stream order holds across slices; passes run one after another,
// so batches stay in order.
//
// Pure: no I/O. `Stream` provides
//   std::weak_ptr<Stream> weak_from_this()
//   template <class Fn> void each_topic(Fn fn) const  // fn(const Topic*) per topic
//   bool mark_for_pass(std::uint64_t pass) // true the first time it sees `pass`
// and `Topic` has `members`, each with a `Stream* session`. The cost of a pass is
// the deliveries it makes times the stream's topics, whatever the batch holds.
// Threads: one pass belongs to one worker thread.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ssehub {

template <class Stream, class Topic>
class FanoutPass {
 public:
  // The streams of the picks' topics, each once. `topics[k]`: the entry of pick
  // k's topic on this worker, or null when it has no subscriber here.
  static FanoutPass for_topics(const std::vector<const Topic*>& topics, std::uint64_t pass) {
    FanoutPass p;
    for (std::uint32_t k = 0; k < topics.size(); ++k) {
      const Topic* t = topics[k];
      if (t == nullptr) continue;
      auto& picks = p.picks_[t];
      if (picks.empty()) {
        for (const auto& m : t->members) {
          if (m.session->mark_for_pass(pass)) p.add(*m.session);
        }
      }
      picks.push_back(k);
    }
    return p;
  }

  // Every stream in `streams`.
  static FanoutPass for_all(const std::vector<Stream*>& streams) {
    FanoutPass p;
    p.streams_.reserve(streams.size());
    for (Stream* s : streams) p.add(*s);
    return p;
  }

  bool done() const { return next_ == streams_.size(); }
  std::size_t remaining() const { return streams_.size() - next_; }

  // Calls fn(stream) for up to `max_streams` more streams; returns how many.
  template <class Fn>
  std::size_t step(std::size_t max_streams, Fn&& fn) {
    std::size_t n = 0;
    for (; n < max_streams && next_ < streams_.size(); ++n) {
      std::shared_ptr<Stream> s = streams_[next_++].lock();
      if (s) fn(*s);
    }
    return n;
  }

  // For a pass made by for_topics: fn(k) for each pick k of `s`'s topics, in
  // order. The picks of each of its topics are already in order; they are merged.
  template <class Fn>
  void for_each_pick(const Stream& s, Fn&& fn) const {
    runs_.clear();
    s.each_topic([&](const Topic* t) {
      auto it = picks_.find(t);
      if (it != picks_.end()) runs_.push_back({&it->second, 0});
    });
    if (runs_.size() == 1) {
      for (std::uint32_t k : *runs_[0].picks) fn(k);
      return;
    }
    while (!runs_.empty()) {
      auto lowest = std::min_element(runs_.begin(), runs_.end(), [](const Run& a, const Run& b) {
        return (*a.picks)[a.next] < (*b.picks)[b.next];
      });
      fn((*lowest->picks)[lowest->next]);
      if (++lowest->next == lowest->picks->size()) {
        *lowest = runs_.back();
        runs_.pop_back();
      }
    }
  }

 private:
  struct Run {
    const std::vector<std::uint32_t>* picks;
    std::size_t next;
  };

  void add(Stream& s) {
    // NOTE: a weak reference, so that a stream the pass waits on is not kept open
    // by it; a stream whose last reference is already gone is skipped.
    auto w = s.weak_from_this();
    if (!w.expired()) streams_.push_back(std::move(w));
  }

  // The picks of each topic of the batch, in order.
  std::unordered_map<const Topic*, std::vector<std::uint32_t>> picks_;
  std::vector<std::weak_ptr<Stream>> streams_;
  std::size_t next_ = 0;
  mutable std::vector<Run> runs_;  // scratch of for_each_pick
};

// Of a slice of `slice` streams, how many a running heartbeat round takes first
// (events take the rest): a quarter, at least one, and with one stream per slice
// every other slice. Neither heartbeats nor events then wait for the other's
// whole pass. `slice_number` counts the worker's slices.
constexpr std::size_t heartbeat_share(std::size_t slice, std::uint64_t slice_number) {
  if (slice >= 2) return std::max<std::size_t>(1, slice / 4);
  return slice_number % 2 == 0 ? slice : 0;
}

}  // namespace ssehub
