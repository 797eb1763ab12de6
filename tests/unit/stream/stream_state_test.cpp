#include "stream/stream_state.hpp"

#include <gtest/gtest.h>
#include <array>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <utility>

namespace ssehub {
namespace {

using S = StreamState;
constexpr std::array<S, 5> kAll = {S::subscribing, S::replaying, S::live, S::ending, S::closed};

const std::set<std::pair<S, S>>& expected_allowed() {
  static const std::set<std::pair<S, S>> allowed_set = {
      {S::subscribing, S::replaying}, {S::subscribing, S::live}, {S::subscribing, S::closed},
      {S::replaying, S::live},        {S::replaying, S::ending}, {S::replaying, S::closed},
      {S::live, S::ending},           {S::live, S::closed},      {S::ending, S::closed},
  };
  return allowed_set;
}

TEST(StreamState, EveryTransitionIsAllowedOrForbiddenAsTheTableSays) {
  for (S from : kAll) {
    for (S to : kAll) {
      SCOPED_TRACE(std::string(to_string(from)) + " -> " + std::string(to_string(to)));
      EXPECT_EQ(allowed(from, to), expected_allowed().count({from, to}) == 1);
    }
  }
}

TEST(StreamState, NoStateMovesToItself) {
  for (S s : kAll) EXPECT_FALSE(allowed(s, s)) << to_string(s);
}

TEST(StreamState, ClosedIsFinal) {
  for (S to : kAll) EXPECT_FALSE(allowed(S::closed, to)) << to_string(to);
}

TEST(StreamState, EveryOtherStateMayClose) {
  for (S s : {S::subscribing, S::replaying, S::live, S::ending}) {
    EXPECT_TRUE(allowed(s, S::closed)) << to_string(s);
  }
}

TEST(StreamState, EndingOnlyCloses) {
  for (S to : kAll) EXPECT_EQ(allowed(S::ending, to), to == S::closed) << to_string(to);
}

TEST(StreamState, NothingGoesBackToSubscribingOrReplaying) {
  for (S from : kAll) {
    EXPECT_FALSE(allowed(from, S::subscribing)) << to_string(from);
    EXPECT_EQ(allowed(from, S::replaying), from == S::subscribing) << to_string(from);
  }
}

TEST(StreamState, AStreamEndsOnlyOnceItsResponseStarted) {
  EXPECT_FALSE(allowed(S::subscribing, S::ending));
  EXPECT_TRUE(allowed(S::replaying, S::ending));
  EXPECT_TRUE(allowed(S::live, S::ending));
}

TEST(StreamState, EndingOrClosed) {
  for (S s : kAll) {
    EXPECT_EQ(ending_or_closed(s), s == S::ending || s == S::closed) << to_string(s);
  }
}

TEST(StreamState, Names) {
  EXPECT_EQ(to_string(S::subscribing), "subscribing");
  EXPECT_EQ(to_string(S::replaying), "replaying");
  EXPECT_EQ(to_string(S::live), "live");
  EXPECT_EQ(to_string(S::ending), "ending");
  EXPECT_EQ(to_string(S::closed), "closed");
}

// Random events, each asking for a state, applied only where the table allows:
// the walk never leaves closed, ending leads only to closed, no phase comes back
// once left, and every walk can still close.
TEST(StreamState, RandomWalkKeepsTheInvariants) {
  const unsigned seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, kAll.size() - 1);
  for (int walk = 0; walk < 2000; ++walk) {
    S state = S::subscribing;
    std::set<S> left;
    for (int step = 0; step < 20; ++step) {
      const S asked = kAll[pick(rng)];
      const S before = state;
      if (allowed(state, asked)) state = asked;
      if (before == S::closed) {
        ASSERT_EQ(state, S::closed);
      }
      if (before == S::ending) {
        ASSERT_TRUE(state == S::ending || state == S::closed);
      }
      if (state != before) {
        ASSERT_EQ(left.count(state), 0u) << to_string(state) << " came back";
        left.insert(before);
      }
      if (state != S::closed) {
        ASSERT_TRUE(allowed(state, S::closed));
      }
    }
  }
}

}  // namespace
}  // namespace ssehub
