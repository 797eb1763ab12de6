#include "bus/redis/subscriber_lifecycle.hpp"

#include <gtest/gtest.h>

#include <random>

namespace ssehub {
namespace {

using namespace std::chrono_literals;
using S = SubscriberState;

TEST(SubscriberLifecycle, GoesThroughItsStatesAndLogsEachChange) {
  SubscriberLifecycle l({100ms, 1000ms});
  EXPECT_EQ(l.state(), S::closed);
  auto s = l.start();
  EXPECT_TRUE(s.changed());
  EXPECT_EQ(s.to, S::connecting);
  s = l.connected();
  EXPECT_EQ(s.from, S::connecting);
  EXPECT_EQ(s.to, S::ready);
  s = l.failed(0.0);
  EXPECT_EQ(s.to, S::reconnecting);
  EXPECT_EQ(s.wait, 50ms);
  s = l.retry();
  EXPECT_EQ(s.to, S::connecting);
  s = l.stop();
  EXPECT_EQ(s.to, S::closed);
  EXPECT_FALSE(l.connected().changed());  // closed stays closed
}

TEST(SubscriberLifecycle, BackoffDoublesIsCappedJitteredAndResetsWhenReady) {
  SubscriberLifecycle l({100ms, 1000ms});
  l.start();
  std::vector<long long> full;
  for (int i = 0; i < 6; ++i) {
    auto s = l.failed(0.999999);
    full.push_back(s.wait.count());
    l.retry();
  }
  EXPECT_EQ(full, (std::vector<long long>{99, 199, 399, 799, 999, 999}));
  EXPECT_EQ(l.attempts(), 6u);
  auto low = l.failed(0.0);
  EXPECT_EQ(low.wait, 500ms);  // half of the capped delay at least
  l.retry();
  l.connected();
  EXPECT_EQ(l.attempts(), 0u);
  EXPECT_EQ(l.failed(0.0).wait, 50ms);
}

TEST(SentinelMonitor, ProbesEveryIntervalAndMissesAfterTheTimeout) {
  using C = SentinelMonitor::Clock;
  SentinelMonitor m(1000ms, 300ms);
  auto t0 = C::time_point{} + 10s;
  m.restart(t0);
  auto tick = m.tick(t0);
  ASSERT_TRUE(tick.publish);
  EXPECT_FALSE(tick.missed);
  EXPECT_EQ(m.next_due(), t0 + 300ms);
  EXPECT_FALSE(m.tick(t0 + 100ms).publish);  // one probe at a time
  auto rtt = m.received(*tick.publish, t0 + 20ms);
  ASSERT_TRUE(rtt);
  EXPECT_EQ(*rtt, 20ms);
  EXPECT_TRUE(m.healthy());
  EXPECT_FALSE(m.received(*tick.publish, t0 + 30ms));  // not twice
  EXPECT_EQ(m.next_due(), t0 + 1000ms);

  auto second = m.tick(t0 + 1000ms);
  ASSERT_TRUE(second.publish);
  EXPECT_FALSE(m.tick(t0 + 1299ms).missed);
  auto miss = m.tick(t0 + 1300ms);
  EXPECT_TRUE(miss.missed);
  EXPECT_FALSE(m.healthy());
  EXPECT_EQ(m.misses(), 1u);
  EXPECT_FALSE(m.received(*second.publish, t0 + 1400ms));  // too late to count

  m.restart(t0 + 1500ms);
  auto third = m.tick(t0 + 1500ms);
  ASSERT_TRUE(third.publish);
  EXPECT_TRUE(m.received(*third.publish, t0 + 1510ms));
  EXPECT_TRUE(m.healthy());
}

TEST(SentinelMonitor, IntervalZeroDisablesIt) {
  SentinelMonitor m(0ms, 300ms);
  EXPECT_FALSE(m.enabled());
  auto t = m.tick(SentinelMonitor::Clock::now());
  EXPECT_FALSE(t.publish);
  EXPECT_FALSE(t.missed);
  EXPECT_TRUE(m.healthy());
  EXPECT_EQ(m.next_due(), SentinelMonitor::Clock::time_point::max());
}

// Random inputs in any order: the lifecycle moves only along its edges and every
// wait is within [initial/2, cap]; the sentinel counts a miss only for a probe
// not back in time, and a token that is late, repeated or made up changes nothing.
TEST(SubscriberLifecycle, RandomInputsInAnyOrderKeepTheEdgesAndTheSentinelHonest) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  using C = SentinelMonitor::Clock;
  for (int run = 0; run < 100; ++run) {
    SubscriberLifecycle l({100ms, 1000ms});
    SentinelMonitor m(200ms, 50ms);
    C::time_point now{};
    bool in_flight = false;  // a probe is out, as the test sees it
    std::uint64_t token_out = 0;
    C::time_point sent{};
    std::uint64_t misses = 0;
    for (int step = 0; step < 300; ++step) {
      const S before = l.state();
      SubscriberLifecycle::Step s{before, before};
      switch (rng() % 7) {
        case 0:
          s = l.start();
          break;
        case 1:
          s = l.connected();
          break;
        case 2:
          s = l.failed(std::uniform_real_distribution<>(0, 0.999)(rng));
          break;
        case 3:
          s = l.retry();
          break;
        case 4:
          if (rng() % 20 == 0) s = l.stop();
          break;
        default:
          break;
      }
      ASSERT_EQ(s.from, before);
      ASSERT_EQ(s.to, l.state());
      if (s.changed()) {
        const bool edge =
            (s.from == S::closed && s.to == S::connecting) ||
            (s.from == S::connecting && s.to == S::ready) ||
            (s.from == S::reconnecting && s.to == S::connecting) ||
            ((s.from == S::connecting || s.from == S::ready) && s.to == S::reconnecting) ||
            s.to == S::closed;
        ASSERT_TRUE(edge) << to_string(s.from) << " -> " << to_string(s.to);
      }
      if (s.to == S::reconnecting && s.changed()) {
        ASSERT_GE(s.wait, 50ms);
        ASSERT_LE(s.wait, 1000ms);
      }
      now += std::chrono::milliseconds(rng() % 60);
      if (rng() % 2 == 0) {
        auto tick = m.tick(now);
        if (tick.missed) {
          ASSERT_TRUE(in_flight);
          ASSERT_GE(now - sent, 50ms);
          ++misses;
          in_flight = false;
        }
        if (tick.publish) {
          ASSERT_FALSE(in_flight);
          in_flight = true;
          token_out = *tick.publish;
          sent = now;
        }
      } else {
        // A token arrives: the one in flight, an old one again, or one never sent.
        const std::uint64_t token = in_flight && rng() % 2 ? token_out : rng() % 5;
        const bool expected = in_flight && token == token_out;
        auto rtt = m.received(token, now);
        ASSERT_EQ(rtt.has_value(), expected);
        if (expected) {
          ASSERT_EQ(*rtt, std::chrono::duration_cast<std::chrono::microseconds>(now - sent));
          ASSERT_TRUE(m.healthy());
          in_flight = false;
        }
      }
      ASSERT_EQ(m.misses(), misses);
    }
  }
}

}  // namespace
}  // namespace ssehub
