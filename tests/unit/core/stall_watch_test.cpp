#include "core/stall_watch.hpp"

#include <gtest/gtest.h>

#include <random>

namespace ssehub {
namespace {

using namespace std::chrono_literals;
using Tp = StallWatch::time_point;

Tp at(std::chrono::milliseconds ms) {
  return Tp{} + 1h + ms;
}

TEST(StallWatch, CountsFromTheLastProgressWhileTicksComeOnTime) {
  StallWatch w(200ms);
  for (auto t = 0ms; t <= 1000ms; t += 200ms) w.tick(at(t));
  EXPECT_FALSE(w.stalled(at(300ms), at(1000ms), 800ms));
  EXPECT_TRUE(w.stalled(at(100ms), at(1000ms), 800ms));
}

TEST(StallWatch, ALateTickStartsTheCountOver) {
  StallWatch w(200ms);
  w.tick(at(0ms));
  w.tick(at(200ms));
  // The daemon was stopped for five seconds: its next tick comes late.
  w.tick(at(5200ms));
  EXPECT_FALSE(w.stalled(at(150ms), at(5200ms), 800ms));
  w.tick(at(5400ms));
  w.tick(at(5600ms));
  w.tick(at(5800ms));
  EXPECT_FALSE(w.stalled(at(150ms), at(5800ms), 800ms));
  w.tick(at(6000ms));
  w.tick(at(6200ms));
  // A stream that made no progress since before the pause is stalled only once
  // the limit has passed in running time after it.
  EXPECT_TRUE(w.stalled(at(150ms), at(6200ms), 800ms));
  EXPECT_FALSE(w.stalled(at(5500ms), at(6200ms), 800ms));
}

TEST(StallWatch, ATickUpToTwoIntervalsLateIsOnTime) {
  StallWatch w(200ms);
  w.tick(at(0ms));
  w.tick(at(400ms));
  w.tick(at(800ms));
  w.tick(at(1200ms));
  EXPECT_TRUE(w.stalled(at(0ms), at(1200ms), 800ms));
}

// Against a model: the stall count is the running time since the later of the
// last progress and the last tick that came late, for random tick schedules.
TEST(StallWatch, MatchesAModelOverRandomSchedules) {
  const unsigned seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  for (int run = 0; run < 200; ++run) {
    StallWatch w(100ms);
    auto now = 0ms;
    auto last = -1ms;
    auto reset = 0ms;
    auto progress = 0ms;
    for (int step = 0; step < 100; ++step) {
      now += std::chrono::milliseconds(rng() % 100 == 0 ? 1000 + rng() % 5000 : 50 + rng() % 200);
      if (rng() % 10 == 0) progress = now;
      w.tick(at(now));
      if (last >= 0ms && now - last > 200ms) reset = now;
      last = now;
      const bool expected = now - std::max(progress, reset) > 400ms;
      ASSERT_EQ(w.stalled(at(progress), at(now), 400ms), expected)
          << "seed " << seed << " run " << run << " step " << step;
    }
  }
}

}  // namespace
}  // namespace ssehub
