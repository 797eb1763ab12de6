#include "bus/redis/live_sequencer.hpp"

#include <gtest/gtest.h>

#include <random>

namespace ssehub {
namespace {

Event ev(std::uint64_t seq, std::string topic = "a") {
  Event e;
  e.seq = seq;
  e.topic = std::move(topic);
  return e;
}

std::vector<std::uint64_t> seqs(const std::vector<Event>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

TEST(LiveSequencer, ReleasesABatchWhenItsNoticeFollowsItsEvents) {
  LiveSequencer s(10, 100);
  EXPECT_TRUE(s.on_event(ev(11)).deliver.empty());
  EXPECT_TRUE(s.on_event(ev(13)).deliver.empty());
  auto step = s.on_notice(10, 14);
  EXPECT_FALSE(step.recover);
  EXPECT_EQ(seqs(step.deliver), (std::vector<std::uint64_t>{11, 13}));
  EXPECT_EQ(s.complete_through(), 14u);
  EXPECT_EQ(s.buffered(), 0u);
}

TEST(LiveSequencer, ABatchWithNoEventOnOurTopicsStillMovesTheMark) {
  LiveSequencer s(10, 100);
  auto step = s.on_notice(10, 20);
  EXPECT_TRUE(step.deliver.empty());
  EXPECT_FALSE(step.recover);
  EXPECT_EQ(s.complete_through(), 20u);
}

// The defect this machine replaces: a notice moved the mark before the batch's
// events had arrived, and a reconnect then recovered from past them.
TEST(LiveSequencer, EventsCutOffBeforeTheirNoticeAreRecoveredFromTheMark) {
  LiveSequencer s(10, 100);
  s.on_event(ev(11));
  s.on_event(ev(12));
  // The connection drops here: the rest of (10, 20] and its notice never come.
  EXPECT_EQ(s.complete_through(), 10u);  // a reconnect recovers after 10
  s.recovered(20);
  EXPECT_EQ(s.buffered(), 0u);  // 11 and 12 came with the recovery
  EXPECT_EQ(s.complete_through(), 20u);
  // Late copies from the old connection are duplicates.
  EXPECT_TRUE(s.on_event(ev(12)).deliver.empty());
  EXPECT_TRUE(s.on_notice(10, 20).deliver.empty());
  EXPECT_EQ(s.duplicates(), 1u);
}

TEST(LiveSequencer, ANoticeAboveTheMarkIsAGap) {
  LiveSequencer s(10, 100);
  s.on_event(ev(11));  // (10, 15] published in part: no notice
  s.on_event(ev(16));
  auto step = s.on_notice(15, 17);
  EXPECT_TRUE(step.recover);
  EXPECT_TRUE(step.deliver.empty());  // nothing jumps ahead of the gap
  EXPECT_EQ(s.complete_through(), 10u);
  s.recovered(17);
  EXPECT_EQ(s.buffered(), 0u);
}

TEST(LiveSequencer, EventsAfterTheRecoveredHeadStayBufferedForTheirNotice) {
  LiveSequencer s(10, 100);
  s.on_event(ev(12));
  s.on_event(ev(21));
  s.recovered(20);
  EXPECT_EQ(s.buffered(), 1u);
  auto step = s.on_notice(20, 22);
  EXPECT_EQ(seqs(step.deliver), (std::vector<std::uint64_t>{21}));
}

TEST(LiveSequencer, TooManyBufferedEventsAskForRecovery) {
  LiveSequencer s(0, 3);
  EXPECT_FALSE(s.on_event(ev(1)).recover);
  EXPECT_FALSE(s.on_event(ev(2)).recover);
  EXPECT_FALSE(s.on_event(ev(3)).recover);
  EXPECT_TRUE(s.on_event(ev(4)).recover);
}

TEST(LiveSequencer, StoreAheadForTwoChecksAsksForRecovery) {
  LiveSequencer s(10, 100);
  EXPECT_FALSE(s.store_ahead(15));  // first sight: allow the notice to arrive
  EXPECT_TRUE(s.store_ahead(15));
  s.recovered(15);
  EXPECT_FALSE(s.store_ahead(15));
  EXPECT_FALSE(s.store_ahead(18));
  s.on_notice(15, 18);  // arrived in time
  EXPECT_FALSE(s.store_ahead(18));
}

TEST(LiveSequencer, OutOfOrderEventsAreDroppedAndAskForRecovery) {
  LiveSequencer s(10, 100);
  EXPECT_FALSE(s.on_event(ev(13)).recover);
  EXPECT_TRUE(s.on_event(ev(12)).recover);
  EXPECT_TRUE(s.on_event(ev(13)).recover);
  EXPECT_FALSE(s.on_event(ev(9)).recover);  // settled already: a plain duplicate
  EXPECT_EQ(s.buffered(), 1u);
  EXPECT_EQ(s.duplicates(), 3u);
}

// Random schedules: batches published whole, in part or not at all, the
// connection dropped at any message, notices late. Whatever happens, what is
// handed on (live or recovered) is every event exactly once, in order.
TEST(LiveSequencer, WhatIsAboveTheStoreHeadIsDroppedAndAMarkAboveItGoesBack) {
  LiveSequencer s(0, 100);
  EXPECT_EQ(seqs(s.on_notice(0, 1000).deliver), (std::vector<std::uint64_t>{}));  // a lie
  EXPECT_TRUE(s.on_event(ev(1001)).deliver.empty());
  auto b = s.drop_beyond(5);
  EXPECT_EQ(b.dropped, 1u);
  EXPECT_TRUE(b.mark_reset);
  EXPECT_EQ(s.complete_through(), 0u);  // nothing was settled
  s.recovered(5);
  // A mark the store backs is left alone, and so are events up to its head.
  EXPECT_TRUE(s.on_event(ev(6)).deliver.empty());
  s.recovered(5);
  b = s.drop_beyond(6);
  EXPECT_EQ(b.dropped, 0u);
  EXPECT_FALSE(b.mark_reset);
  EXPECT_EQ(seqs(s.on_notice(5, 6).deliver), (std::vector<std::uint64_t>{6}));
  EXPECT_EQ(s.complete_through(), 6u);
}

// A store that lost committed events (its head went back below what was handed
// on) is reported, and the mark does not follow it down: a seq reused by a new
// commit is not handed on a second time, out of order.
TEST(LiveSequencer, AStoreWhoseHeadWentBackIsNotFollowedBelowWhatWasHandedOn) {
  LiveSequencer s(0, 100);
  s.on_event(ev(1));
  s.on_event(ev(2));
  EXPECT_EQ(seqs(s.on_notice(0, 2).deliver), (std::vector<std::uint64_t>{1, 2}));
  auto b = s.drop_beyond(1);
  EXPECT_TRUE(b.store_went_back);
  EXPECT_FALSE(b.mark_reset);
  EXPECT_EQ(s.complete_through(), 2u);
  s.on_event(ev(2));  // the seq again, from a new commit
  EXPECT_TRUE(s.on_notice(1, 2).deliver.empty());
}

TEST(LiveSequencer, RandomCutsAndLossesNeverLoseOrRepeatAnEvent) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::vector<std::uint64_t>> batches;  // seqs on our topics per batch
    std::vector<std::uint64_t> heads;
    std::uint64_t seq = 0;
    const int n_batches = 1 + static_cast<int>(rng() % 20);
    for (int b = 0; b < n_batches; ++b) {
      std::vector<std::uint64_t> ours;
      const int size = 1 + static_cast<int>(rng() % 6);
      for (int i = 0; i < size; ++i) {
        ++seq;
        if (rng() % 2) ours.push_back(seq);
      }
      batches.push_back(ours);
      heads.push_back(seq);
    }
    LiveSequencer s(0, 1000);
    std::vector<std::uint64_t> out;
    auto take = [&](const LiveSequencer::Step& step, std::uint64_t store_head) {
      for (auto& e : step.deliver) out.push_back(e.seq);
      if (!step.recover) return;
      for (const auto& b : batches) {
        for (auto q : b) {
          if (q > s.complete_through() && q <= store_head) out.push_back(q);
        }
      }
      s.recovered(store_head);
    };
    for (std::size_t b = 0; b < batches.size(); ++b) {
      const std::uint64_t base = b ? heads[b - 1] : 0;
      const auto fate = rng() % 4;  // 0: lost, 1: cut off, 2-3: whole
      std::size_t sent = fate == 0   ? 0
                         : fate == 1 ? rng() % (batches[b].size() + 1)
                                     : batches[b].size();
      for (std::size_t i = 0; i < sent; ++i) take(s.on_event(ev(batches[b][i])), heads[b]);
      if (fate >= 2) take(s.on_notice(base, heads[b]), heads[b]);
      if (rng() % 5 == 0) {
        take({{}, true}, heads[b]);  // a reconnect recovers from the mark
      }
    }
    // The store check finds whatever is still outstanding.
    s.store_ahead(heads.back());
    if (s.store_ahead(heads.back())) take({{}, true}, heads.back());
    std::vector<std::uint64_t> expected;
    for (const auto& b : batches) expected.insert(expected.end(), b.begin(), b.end());
    ASSERT_EQ(out, expected) << "round " << round;
  }
}

}  // namespace
}  // namespace ssehub
