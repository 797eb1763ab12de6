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

// A stream's progress stamp: the running time when it made progress.
StallWatch::duration stamp(const StallWatch& w, std::chrono::milliseconds ms) {
  return w.running(at(ms));
}

TEST(StallWatch, CountsFromTheLastProgressWhileTicksComeOnTime) {
  StallWatch w(200ms);
  w.tick(at(0ms));
  const auto early = stamp(w, 100ms);
  const auto later = stamp(w, 300ms);
  for (auto t = 200ms; t <= 1000ms; t += 200ms) w.tick(at(t));
  EXPECT_FALSE(w.stalled(later, at(1000ms), 800ms));
  EXPECT_TRUE(w.stalled(early, at(1000ms), 800ms));
}

TEST(StallWatch, APauseCountsForTwoIntervalsAtMost) {
  StallWatch w(200ms);
  w.tick(at(0ms));
  w.tick(at(200ms));
  const auto before = stamp(w, 150ms);
  // The daemon was stopped for five seconds: its next tick comes late, and the
  // pause counts as 400 ms.
  w.tick(at(5200ms));
  EXPECT_FALSE(w.stalled(before, at(5200ms), 800ms));
  w.tick(at(5400ms));
  EXPECT_FALSE(w.stalled(before, at(5400ms), 800ms));  // 50 + 400 + 200 ms
  w.tick(at(5600ms));
  w.tick(at(5800ms));
  EXPECT_TRUE(w.stalled(before, at(5800ms), 800ms));  // 50 + 400 + 600 ms
  EXPECT_FALSE(w.stalled(stamp(w, 5500ms), at(5800ms), 800ms));
}

TEST(StallWatch, ATickUpToTwoIntervalsLateCountsInFull) {
  StallWatch w(200ms);
  w.tick(at(0ms));
  const auto start = stamp(w, 0ms);
  w.tick(at(400ms));
  w.tick(at(800ms));
  w.tick(at(1200ms));
  EXPECT_TRUE(w.stalled(start, at(1200ms), 800ms));
}

// A loop that is busy, every tick late, still counts time: a stalled reader on
// it is let go.
TEST(StallWatch, ABusyLoopStillLetsAStalledReaderGo) {
  StallWatch w(10ms);
  w.tick(at(0ms));
  const auto start = stamp(w, 0ms);
  bool stalled = false;
  for (auto t = 25ms; t <= 10000ms && !stalled; t += 25ms) {
    w.tick(at(t));
    stalled = w.stalled(start, at(t), 40ms);
  }
  EXPECT_TRUE(stalled);
}

// Against a model: the running time is the sum of the gaps between ticks, each
// capped at two intervals, for random tick schedules with rare long pauses.
TEST(StallWatch, MatchesAModelOverRandomSchedules) {
  const unsigned seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  for (int run = 0; run < 200; ++run) {
    StallWatch w(100ms);
    auto now = 0ms;
    w.tick(at(now));
    auto running = 0ms;
    auto progress_running = 0ms;
    auto progress_stamp = stamp(w, now);
    for (int step = 0; step < 100; ++step) {
      const auto gap =
          std::chrono::milliseconds(rng() % 100 == 0 ? 1000 + rng() % 5000 : 50 + rng() % 200);
      now += gap;
      w.tick(at(now));
      running += std::min<std::chrono::milliseconds>(gap, 200ms);
      if (rng() % 10 == 0) {
        progress_running = running;
        progress_stamp = stamp(w, now);
      }
      const bool expected = running - progress_running > 400ms;
      ASSERT_EQ(w.stalled(progress_stamp, at(now), 400ms), expected)
          << "seed " << seed << " run " << run << " step " << step;
    }
  }
}

}  // namespace
}  // namespace ssehub
