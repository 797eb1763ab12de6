// Tells a reader that stopped reading from a daemon that stopped running.
//
// A stream is let go when its socket has stayed full, with no byte written, for
// a while. That time must be time the daemon was running: after the process was
// stopped (SIGSTOP, a suspended VM), every stream looks idle since before the
// pause, and its client is not to blame. The worker's own tick tells: a gap
// between two ticks counts as running time up to two intervals and no more, so
// a pause counts for two intervals at most, while a loop that is merely busy
// (every tick somewhat late) still counts time and still lets a stalled reader
// go. Streams stamp their progress in this running time.
#pragma once

#include <algorithm>
#include <chrono>

namespace ssehub {

class StallWatch {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  explicit StallWatch(std::chrono::milliseconds interval) : interval_(interval) {}

  // The worker's periodic tick, at `now`; its owner ticks once when it starts,
  // so a pause before the first timer tick is seen too.
  void tick(time_point now) {
    if (last_tick_ != time_point{}) {
      const duration gap = now - last_tick_;
      skipped_ += gap - std::min<duration>(gap, 2 * interval_);
    }
    last_tick_ = now;
  }

  // The running time at `now`. A pause since the last tick is taken off only
  // at the next tick: a progress stamp taken in between is late by it, which
  // can only put off letting a stream go, never hasten it.
  duration running(time_point now) const { return now.time_since_epoch() - skipped_; }

  // True when a stream whose last progress was at running time `progress` has
  // made none for more than `limit` of running time.
  bool stalled(duration progress, time_point now, std::chrono::milliseconds limit) const {
    return running(now) - progress > limit;
  }

 private:
  std::chrono::milliseconds interval_;
  time_point last_tick_{};
  duration skipped_{};
};

}  // namespace ssehub
