// Tells a reader that stopped reading from a daemon that stopped running.
//
// A stream is let go when its socket has stayed full, with no byte written, for
// a while. That time must be time the daemon was running: after the process was
// stopped (SIGSTOP, a suspended VM) or its loop starved, every stream looks idle
// since before the pause, and its client is not to blame. The worker's own tick
// tells: a tick that comes more than two intervals late starts the count over.
#pragma once

#include <algorithm>
#include <chrono>

namespace ssehub {

class StallWatch {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit StallWatch(std::chrono::milliseconds interval) : interval_(interval) {}

  // The worker's periodic tick, at `now`; its owner ticks once when it starts,
  // so a pause before the first timer tick is seen too.
  void tick(time_point now) {
    if (last_tick_ != time_point{} && now - last_tick_ > 2 * interval_) counted_from_ = now;
    last_tick_ = now;
  }

  // True when a stream whose last write progress was at `progress` has made none
  // for more than `limit` of time the daemon was running.
  bool stalled(time_point progress, time_point now, std::chrono::milliseconds limit) const {
    return now - std::max(progress, counted_from_) > limit;
  }

 private:
  std::chrono::milliseconds interval_;
  time_point last_tick_{};
  time_point counted_from_{};
};

}  // namespace ssehub
