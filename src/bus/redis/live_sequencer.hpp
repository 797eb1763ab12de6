#pragma once
// Turns what the Redis subscriber hears into complete, ordered batches. Pure: the
// subscriber thread feeds it messages and store reads and does what it answers.
//
// Publishers send each batch as its events (on their topic channels) followed by
// one heads notice {base, head}. Redis delivers one connection's messages in the
// order they were published, and batches are published in commit order, so when a
// notice with base == complete_through arrives, every event of (base, head] on the
// subscribed topics has arrived before it: those buffered events are released and
// complete_through moves to head. Anything else is a gap the store must fill:
//   - a notice whose base is above complete_through (a batch was published only in
//     part, or not at all: its publisher lost Redis, or it was written in SQL);
//   - the store's head staying above complete_through from one check to the next
//     (the last batch's notice never came);
//   - more buffered events than the bound allows.
// A (re)subscribe also recovers from complete_through: whatever arrived only in part
// on the old connection is read again, and nothing before it is read twice.
//
// Invariant: what it releases has strictly increasing seqs, and every event on the
// subscribed topics with seq <= complete_through() was released or recovered.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/event.hpp"

namespace ssehub {

class LiveSequencer {
 public:
  struct Step {
    std::vector<Event> deliver;  // hand on now, in seq order
    bool recover = false;        // read (complete_through, store head] from the store
  };

  LiveSequencer(std::uint64_t complete_through, std::size_t max_buffered)
      : complete_(complete_through), max_buffered_(max_buffered) {}

  Step on_event(Event ev);
  Step on_notice(std::uint64_t base, std::uint64_t head);
  // The store was read through `head` (its events handed on, or a gap signalled).
  void recovered(std::uint64_t head);
  // Called every check interval with the store's head: true when the store was
  // ahead of complete_through at the previous check and still is (recover).
  bool store_ahead(std::uint64_t store_head);
  // The store's head, read after everything fed so far: no real event or notice
  // is above it (a batch is committed before it is published). What is, came
  // from a corrupt or hostile message: buffered events above it are dropped, and
  // a mark above it goes back to what the store or released events settled
  // (never lower: a store whose head went back is reported, not followed).
  struct Beyond {
    std::size_t dropped = 0;       // buffered events dropped
    bool mark_reset = false;       // the mark went back: recover from it
    bool store_went_back = false;  // the store's head is below what was handed on
  };
  Beyond drop_beyond(std::uint64_t store_head);

  std::uint64_t complete_through() const { return complete_; }
  std::size_t buffered() const { return buffered_.size(); }
  // The highest seq held for its batch's notice (0: none).
  std::uint64_t highest_buffered() const { return buffered_.empty() ? 0 : buffered_.back().seq; }
  std::uint64_t duplicates() const { return duplicates_; }

 private:
  std::vector<Event> release_through(std::uint64_t head);

  std::uint64_t complete_;
  std::size_t max_buffered_;
  std::vector<Event> buffered_;  // seq > complete_, increasing
  std::uint64_t lagging_head_ = 0;
  std::uint64_t settled_ = 0;  // the highest seq released, or read through from the store
  std::uint64_t duplicates_ = 0;
};

}  // namespace ssehub
