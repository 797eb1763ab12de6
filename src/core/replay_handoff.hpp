#pragma once
// The replay-to-live hand-off of one connection. The connection subscribes to live
// delivery first; live events that arrive while the replay runs are held here;
// when the replay is settled they are released, skipping every id already covered.
// After that, live events pass through with a strictly increasing seq. Pure; owned
// by one connection and used from its thread only.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ssehub {

struct LiveFrame {
  std::uint64_t seq = 0;
  std::shared_ptr<const std::string> frame;
};

class ReplayHandoff {
 public:
  enum class Offer { deliver, held, duplicate, overflow };

  explicit ReplayHandoff(std::size_t max_held_bytes) : max_held_bytes_(max_held_bytes) {}

  void begin_replay() { replaying_ = true; }
  bool replaying() const { return replaying_; }

  // deliver: send it now. held: kept until the replay ends. duplicate: already
  // covered, drop. overflow: too much held, the connection must be closed.
  Offer offer(std::uint64_t seq, const std::shared_ptr<const std::string>& frame);

  // Ends the replay: every seq <= covered_through is settled. Returns the held
  // frames still to send, in order.
  std::vector<LiveFrame> finish_replay(std::uint64_t covered_through);

  // The bus confirmed every topic of the connection. Live events offered before
  // may be incomplete: a bus that subscribes per topic (Redis) delivered the
  // other topics' events while one was not yet subscribed. So may those the bus
  // names (`bus_incomplete_through`: dispatched before that, not yet offered).
  // Only what comes after both is complete on every topic, so a hand-off that has
  // no replay to fill that (no Last-Event-ID, or a replay that failed) resumes
  // after them.
  void subscribed(std::uint64_t bus_incomplete_through = 0) {
    incomplete_through_ = std::max(highest_offered_, bus_incomplete_through);
  }
  std::uint64_t incomplete_through() const { return incomplete_through_; }

  // Outside a replay: live events up to `seq` are settled (skipped from now on).
  void advance_to(std::uint64_t seq) {
    if (seq > last_seq_) last_seq_ = seq;
  }

  std::uint64_t last_seq() const { return last_seq_; }
  // The highest seq ever offered: it is known to exist.
  std::uint64_t highest_offered() const { return highest_offered_; }
  std::size_t held_bytes() const { return held_bytes_; }

 private:
  std::size_t max_held_bytes_;
  bool replaying_ = false;
  std::uint64_t last_seq_ = 0;
  std::uint64_t highest_offered_ = 0;
  std::uint64_t incomplete_through_ = 0;
  std::vector<LiveFrame> held_;
  std::size_t held_bytes_ = 0;
};

}  // namespace ssehub
