#include "bus/redis/subscriber_lifecycle.hpp"

#include <algorithm>

namespace ssehub {

std::string_view to_string(SubscriberState s) {
  switch (s) {
    case SubscriberState::closed:
      return "closed";
    case SubscriberState::connecting:
      return "connecting";
    case SubscriberState::ready:
      return "ready";
    case SubscriberState::reconnecting:
      return "reconnecting";
  }
  return "closed";
}

SubscriberLifecycle::Step SubscriberLifecycle::move(SubscriberState to,
                                                    std::chrono::milliseconds wait) {
  Step s{state_, to, wait};
  state_ = to;
  return s;
}

SubscriberLifecycle::Step SubscriberLifecycle::start() {
  if (state_ != SubscriberState::closed) return Step{state_, state_};
  attempts_ = 0;
  return move(SubscriberState::connecting);
}

SubscriberLifecycle::Step SubscriberLifecycle::connected() {
  if (state_ != SubscriberState::connecting) return Step{state_, state_};
  attempts_ = 0;
  return move(SubscriberState::ready);
}

SubscriberLifecycle::Step SubscriberLifecycle::failed(double jitter) {
  if (state_ == SubscriberState::closed) return Step{state_, state_};
  // initial * 2^attempts, capped; the shift is bounded so it cannot overflow.
  auto shift = std::min(attempts_, 20u);
  auto delay = std::min<std::chrono::milliseconds>(policy_.cap, policy_.initial * (1LL << shift));
  ++attempts_;
  jitter = std::clamp(jitter, 0.0, 1.0);
  const long long half = delay.count() / 2;
  auto wait =
      std::chrono::milliseconds(half + static_cast<long long>(jitter * static_cast<double>(half)));
  return move(SubscriberState::reconnecting, wait);
}

SubscriberLifecycle::Step SubscriberLifecycle::retry() {
  if (state_ != SubscriberState::reconnecting) return Step{state_, state_};
  return move(SubscriberState::connecting);
}

SubscriberLifecycle::Step SubscriberLifecycle::stop() {
  return move(SubscriberState::closed);
}

SentinelMonitor::Tick SentinelMonitor::tick(Clock::time_point now) {
  Tick t;
  if (!enabled()) return t;
  if (outstanding_ && now >= sent_at_ + timeout_) {
    outstanding_.reset();
    healthy_ = false;
    ++misses_;
    t.missed = true;
    return t;
  }
  if (!outstanding_ && now >= next_send_) {
    outstanding_ = next_token_++;
    sent_at_ = now;
    next_send_ = now + interval_;
    t.publish = *outstanding_;
  }
  return t;
}

std::optional<std::chrono::microseconds> SentinelMonitor::received(std::uint64_t token,
                                                                   Clock::time_point now) {
  if (!outstanding_ || *outstanding_ != token) return std::nullopt;
  outstanding_.reset();
  healthy_ = true;
  last_rtt_ = std::chrono::duration_cast<std::chrono::microseconds>(now - sent_at_);
  return last_rtt_;
}

void SentinelMonitor::restart(Clock::time_point now) {
  outstanding_.reset();
  next_send_ = now;
}

SentinelMonitor::Clock::time_point SentinelMonitor::next_due() const {
  if (!enabled()) return Clock::time_point::max();
  return outstanding_ ? sent_at_ + timeout_ : next_send_;
}

}  // namespace ssehub
