#pragma once
// A worker's inbox of fan-out batches, with a bound. Batches come from the bus
// threads in id order and wait here until the worker's thread takes them. A worker
// that falls that far behind (its thread starved or stuck) does not queue without
// end (a batch into an empty inbox is always taken): what it holds is dropped and replaced by one
// gap signal at the highest seq dropped, so each of its streams is told (`replay-truncated`) and
// re-hydrates, and later batches queue behind the signal as usual. Pure; the caller locks.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "stream/hub.hpp"

namespace ssehub {

// A worker's inbox bound (see Worker).
inline constexpr std::size_t kMaxInboxBytes = std::size_t{256} << 20;

class FanoutInbox {
 public:
  explicit FanoutInbox(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // True when the inbox was empty (the taker must be woken).
  bool push(std::shared_ptr<const FanoutBatch> batch);
  // What the next fan-out pass serves, oldest first: a gap signal alone, or the
  // event batches waiting in front of the next gap, as many as hold at most
  // `max_events` events together (always at least one). A worker that fell
  // behind thus sends each stream what queued meanwhile in one write. What waits
  // behind a running pass stays under the bound. Empty when the inbox is.
  std::vector<std::shared_ptr<const FanoutBatch>> take_next(std::size_t max_events);
  bool empty() const { return batches_.empty(); }

  std::size_t bytes() const { return bytes_; }
  // Events waiting (a gap signal counts none).
  std::size_t events() const { return events_; }
  std::uint64_t overflows() const { return overflows_; }

 private:
  static std::size_t size_of(const FanoutBatch& b);

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::size_t events_ = 0;
  std::uint64_t overflows_ = 0;
  std::deque<std::shared_ptr<const FanoutBatch>> batches_;
};

}  // namespace ssehub
