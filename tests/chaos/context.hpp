#pragma once
// What the workload threads (publishers, subscribers, probes) share: where the
// replicas and the database are, the run's clock, and the flags that end each phase.
// Everything here is set before the threads start and read-only afterwards, except
// the atomics.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "history.hpp"

namespace ssehub::chaos {

using Ms = std::chrono::milliseconds;

// Milliseconds since the workload started: the time axis of every record.
class RunClock {
 public:
  RunClock() : start_(std::chrono::steady_clock::now()) {}
  std::int64_t now_ms() const {
    return std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

struct RunContext {
  std::vector<std::uint16_t> ports;  // replica i listens on ports[i] for the whole run
  std::string conninfo;              // libpq connection string of the store's database
  std::string epoch;                 // the store's epoch
  std::vector<std::string> topics;   // what publishers and subscribers draw from
  std::size_t max_body_bytes = 1048576;
  RunClock clock;
};

// Phases, driven by the main thread.
struct Control {
  std::atomic<bool> stop_publishing{false};
  std::atomic<bool> draining{false};  // subscribers stop reconnecting at random and read fast
  std::atomic<bool> stop{false};      // everything ends
  // Bumped by the nemesis after it cut the replicas' Redis connections: each HTTP
  // publisher then sends one array of 1000 events filling the body, so that a large
  // pipeline meets the closed connection (a fault point in the FoundationDB sense).
  std::atomic<std::uint64_t> heavy_bursts{0};
};

// Marker sources: (source << 40) | counter.
constexpr Marker kHttpSource = 1;  // + publisher index
constexpr Marker kSqlSource = 16;
constexpr Marker kProbeSource = 17;
inline Marker make_marker(Marker source, std::uint64_t counter) {
  return (source << 40) | counter;
}

// The topic every probe goes to; subscribers never use it.
inline const std::string kProbeTopic = "probe";

// Sleeps `d` in slices, returning early once `flag` is set; false if it was.
bool nap(Ms d, const std::atomic<bool>& flag);

}  // namespace ssehub::chaos
