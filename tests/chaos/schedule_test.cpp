// The chaos schedule: a pure function of its seed that fits the topology.
#include <gtest/gtest.h>

#include <algorithm>

#include "schedule.hpp"

namespace ssehub::chaos {
namespace {

TEST(Schedule, IsAPureFunctionOfTheSeed) {
  const Topology t;
  const auto a = make_schedule(7, 60000, t);
  const auto b = make_schedule(7, 60000, t);
  const auto c = make_schedule(8, 60000, t);
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(a.size(), b.size());
  auto same = [](const Fault& x, const Fault& y) {
    return x.at_ms == y.at_ms && describe(x) == describe(y);
  };
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same(a[i], b[i])) << describe(a[i]);
  bool differs = a.size() != c.size();
  for (std::size_t i = 0; !differs && i < a.size(); ++i) differs = !same(a[i], c[i]);
  EXPECT_TRUE(differs);
}

TEST(Schedule, FaultsFollowOneAnotherWithinTheRunAndFitTheTopology) {
  Topology t;
  t.any_redis = false;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    const auto s = make_schedule(seed, 60000, t);
    std::int64_t free_at = 0;
    for (const auto& f : s) {
      EXPECT_GE(f.at_ms, free_at) << describe(f);
      EXPECT_LE(f.at_ms + f.duration_ms, 58000) << describe(f);
      EXPECT_NE(to_string(f.kind).rfind("redis", 0), 0u) << describe(f);
      EXPECT_NE(f.role, "redis-recovery") << describe(f);
      free_at = f.at_ms + f.duration_ms;
    }
  }
}

}  // namespace
}  // namespace ssehub::chaos
