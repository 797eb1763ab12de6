#pragma once
// The Redis subscriber's lifecycle and its sentinel, as I/O-free state machines:
// the subscriber thread feeds them what happened and does what they answer.
//
// Lifecycle: closed --start--> connecting --connected--> ready --failure-->
// reconnecting --(backoff elapsed)--> connecting ... --stop--> closed. Backoff is
// capped exponential with jitter and resets once a connection is ready.
//
// Sentinel: every `interval` the replica publishes a probe on its own channel and
// expects it back within `timeout`; a probe not back in time is a miss (the
// subscriber is unhealthy until a later probe comes back). Interval 0 disables it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ssehub {

enum class SubscriberState { closed, connecting, ready, reconnecting };
std::string_view to_string(SubscriberState s);

struct BackoffPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds cap{5000};
};

class SubscriberLifecycle {
 public:
  struct Step {
    SubscriberState from;
    SubscriberState to;
    std::chrono::milliseconds wait{0};  // reconnecting: wait this long, then connect
    bool changed() const { return from != to; }
  };

  explicit SubscriberLifecycle(BackoffPolicy policy = {}) : policy_(policy) {}

  SubscriberState state() const { return state_; }
  unsigned attempts() const { return attempts_; }

  Step start();      // closed -> connecting
  Step connected();  // connecting -> ready; backoff resets
  // Any failure (connect, read, sentinel miss) -> reconnecting; `jitter` in [0, 1)
  // picks the wait within [delay/2, delay].
  Step failed(double jitter);
  Step retry();  // reconnecting -> connecting, after the wait
  Step stop();   // -> closed

 private:
  Step move(SubscriberState to, std::chrono::milliseconds wait = {});

  BackoffPolicy policy_;
  SubscriberState state_ = SubscriberState::closed;
  unsigned attempts_ = 0;
};

class SentinelMonitor {
 public:
  using Clock = std::chrono::steady_clock;

  SentinelMonitor(std::chrono::milliseconds interval, std::chrono::milliseconds timeout)
      : interval_(interval), timeout_(timeout) {}

  bool enabled() const { return interval_.count() > 0; }

  struct Tick {
    std::optional<std::uint64_t> publish;  // send a probe with this token
    bool missed = false;                   // the outstanding probe did not come back
  };
  Tick tick(Clock::time_point now);
  // A probe arrived; returns its round trip when it is the one outstanding.
  std::optional<std::chrono::microseconds> received(std::uint64_t token, Clock::time_point now);
  // After a (re)connect: the next probe goes out at once, health is unknown.
  void restart(Clock::time_point now);
  // When tick() next has something to do.
  Clock::time_point next_due() const;

  // False from a miss until a probe comes back.
  bool healthy() const { return healthy_; }
  std::optional<std::chrono::microseconds> last_round_trip() const { return last_rtt_; }
  std::uint64_t misses() const { return misses_; }

 private:
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds timeout_;
  std::uint64_t next_token_ = 1;
  std::optional<std::uint64_t> outstanding_;
  Clock::time_point sent_at_{};
  Clock::time_point next_send_{};
  bool healthy_ = true;
  std::optional<std::chrono::microseconds> last_rtt_;
  std::uint64_t misses_ = 0;
};

}  // namespace ssehub
