#include "bus/redis/subscriber_lifecycle.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ssehub
