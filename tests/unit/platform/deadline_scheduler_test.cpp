#include "platform/deadline_scheduler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace ssehub {
namespace {

using namespace std::chrono_literals;
using Clock = DeadlineScheduler::Clock;

bool wait_for(const std::atomic<int>& n, int want, std::chrono::milliseconds limit) {
  auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (n.load() >= want) return true;
    std::this_thread::sleep_for(1ms);
  }
  return n.load() >= want;
}

TEST(DeadlineScheduler, RunsCallbacksInDeadlineOrderNotBefore) {
  DeadlineScheduler s;
  std::mutex m;
  std::vector<int> order;
  std::atomic<int> ran{0};
  auto now = Clock::now();
  std::atomic<long long> early{0};
  for (int i : {3, 1, 2}) {
    auto when = now + std::chrono::milliseconds(20 * i);
    s.schedule(when, [&, i, when] {
      if (Clock::now() < when) ++early;
      std::lock_guard lock(m);
      order.push_back(i);
      ++ran;
    });
  }
  ASSERT_TRUE(wait_for(ran, 3, 5000ms));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(early.load(), 0);
}

TEST(DeadlineScheduler, CancelledCallbackNeverRuns) {
  DeadlineScheduler s;
  std::atomic<int> ran{0}, marker{0};
  auto id = s.schedule(Clock::now() + 30ms, [&] { ++ran; });
  s.schedule(Clock::now() + 60ms, [&] { ++marker; });
  s.cancel(id);
  ASSERT_TRUE(wait_for(marker, 1, 5000ms));
  EXPECT_EQ(ran.load(), 0);
}

// The scheduler thread waits until the earliest entry's time; cancelling that very
// entry meanwhile must not leave it waiting on freed memory (ASan checks this).
TEST(DeadlineScheduler, CancellingTheEntryBeingWaitedForIsSafe) {
  DeadlineScheduler s;
  std::atomic<int> ran{0}, marker{0};
  for (int i = 0; i < 20; ++i) {
    auto id = s.schedule(Clock::now() + 200ms, [&] { ++ran; });
    std::this_thread::sleep_for(2ms);  // the thread is now waiting for it
    s.cancel(id);
  }
  s.schedule(Clock::now() + 5ms, [&] { ++marker; });
  ASSERT_TRUE(wait_for(marker, 1, 5000ms));
  EXPECT_EQ(ran.load(), 0);
}

// A deadline taken off the queue just as its call ends must not act on the next
// call: cancel() returns only once a callback that has started has returned.
TEST(DeadlineScheduler, CancelWaitsForACallbackThatHasStarted) {
  DeadlineScheduler s;
  std::atomic<int> started{0};
  std::atomic<bool> finished{false};
  const auto id = s.schedule(Clock::now(), [&] {
    started = 1;
    std::this_thread::sleep_for(200ms);
    finished = true;
  });
  ASSERT_TRUE(wait_for(started, 1, 2000ms));
  s.cancel(id);
  EXPECT_TRUE(finished.load()) << "cancel() returned while the callback still ran";
  // Cancelling from inside a callback, its own or another's, does not wait for itself.
  std::atomic<int> inner{0};
  std::uint64_t self = 0;
  std::mutex m;
  {
    std::lock_guard lock(m);
    self = s.schedule(Clock::now(), [&] {
      std::lock_guard l(m);
      s.cancel(self);
      inner = 1;
    });
  }
  EXPECT_TRUE(wait_for(inner, 1, 2000ms));
}

TEST(DeadlineScheduler, StopDropsPendingAndRefusesNew) {
  std::atomic<int> ran{0};
  DeadlineScheduler s;
  s.schedule(Clock::now() + 10s, [&] { ++ran; });
  s.stop();
  EXPECT_EQ(s.schedule(Clock::now(), [&] { ++ran; }), 0u);
  s.stop();
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace ssehub
