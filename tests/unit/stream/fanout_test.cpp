// The fan-out's pure parts: the bounded inbox, and the log follower's catch-up
// decision.
#include <gtest/gtest.h>

#include "bus/pglog/catch_up.hpp"
#include "core/event_id.hpp"
#include "stream/fanout_inbox.hpp"
#include "stream/hub.hpp"

namespace ssehub {
namespace {

Event event(std::uint64_t seq, std::string topic) {
  Event e;
  e.seq = seq;
  e.id = format_event_id("ep", seq);
  e.topic = std::move(topic);
  e.type = "t";
  e.data = "{}";
  return e;
}

std::shared_ptr<const FanoutBatch> fanout(const std::vector<std::uint64_t>& seqs,
                                          std::size_t frame_bytes) {
  auto events = std::make_shared<EventBatch>();
  auto b = std::make_shared<FanoutBatch>();
  for (auto s : seqs) {
    b->picks.push_back(static_cast<std::uint32_t>(events->size()));
    events->push_back(event(s, "a"));
    b->frames.push_back(std::make_shared<const std::string>(frame_bytes, 'x'));
  }
  b->events = events;
  return b;
}

std::vector<std::shared_ptr<const FanoutBatch>> take_all(FanoutInbox& inbox) {
  std::vector<std::shared_ptr<const FanoutBatch>> out;
  for (auto next = inbox.take_next(SIZE_MAX); !next.empty(); next = inbox.take_next(SIZE_MAX)) {
    out.insert(out.end(), next.begin(), next.end());
  }
  return out;
}

TEST(FanoutInbox, QueuesInOrderAndWakesOnlyWhenItWasEmpty) {
  FanoutInbox inbox(1 << 20);
  EXPECT_TRUE(inbox.push(fanout({1, 2}, 10)));
  EXPECT_FALSE(inbox.push(fanout({3}, 10)));
  auto got = take_all(inbox);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ((*got[1]->events)[0].seq, 3u);
  EXPECT_EQ(inbox.bytes(), 0u);
  EXPECT_TRUE(inbox.push(fanout({4}, 10)));
  EXPECT_EQ(inbox.overflows(), 0u);
}

TEST(FanoutInbox, WhatIsTakenOneAtATimeNoLongerCountsTowardsTheBound) {
  FanoutInbox inbox(2500);
  inbox.push(fanout({1}, 1000));
  inbox.push(fanout({2}, 1000));
  auto first = inbox.take_next(1);  // a pass runs it; the second waits
  ASSERT_EQ(first.size(), 1u);
  EXPECT_FALSE(inbox.empty());
  inbox.push(fanout({3}, 1000));  // 2,000 bytes waiting: under the bound
  EXPECT_EQ(inbox.overflows(), 0u);
  inbox.push(fanout({4}, 1000));
  EXPECT_EQ(inbox.overflows(), 1u);
  auto rest = take_all(inbox);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0]->gap_resume, 4u);
  EXPECT_TRUE(inbox.empty());
  EXPECT_EQ(inbox.bytes(), 0u);
}

std::shared_ptr<const FanoutBatch> gap_at(std::uint64_t seq) {
  auto gap = std::make_shared<FanoutBatch>();
  gap->events = std::make_shared<const EventBatch>();
  gap->gap_resume = seq;
  gap->gap_epoch = "ep";
  return gap;
}

// A worker that fell behind serves what queued in one pass, up to a number of
// events; a gap signal is never merged with events on either side.
TEST(FanoutInbox, TakesWaitingBatchesTogetherUpToTheEventBoundAndNeverAcrossAGap) {
  FanoutInbox inbox(1 << 20);
  inbox.push(fanout({1, 2}, 10));
  inbox.push(fanout({3}, 10));
  inbox.push(fanout({4, 5}, 10));
  inbox.push(gap_at(9));
  inbox.push(fanout({10, 11, 12}, 10));
  auto first = inbox.take_next(3);
  ASSERT_EQ(first.size(), 2u);  // 1, 2, 3: a third batch would pass 3 events
  EXPECT_EQ((*first[1]->events)[0].seq, 3u);
  auto second = inbox.take_next(100);
  ASSERT_EQ(second.size(), 1u);  // stops before the gap
  EXPECT_EQ((*second[0]->events)[0].seq, 4u);
  auto gap = inbox.take_next(100);
  ASSERT_EQ(gap.size(), 1u);  // the gap alone
  EXPECT_EQ(gap[0]->gap_resume, 9u);
  auto last = inbox.take_next(1);
  ASSERT_EQ(last.size(), 1u);  // one batch always, however many events it holds
  EXPECT_EQ(last[0]->picks.size(), 3u);
  EXPECT_TRUE(inbox.take_next(100).empty());
  EXPECT_EQ(inbox.bytes(), 0u);
}

TEST(FanoutInbox, PastItsBoundEverythingHeldBecomesOneGapAtTheHighestSeq) {
  FanoutInbox inbox(3000);
  inbox.push(fanout({1, 2}, 1000));
  EXPECT_EQ(inbox.overflows(), 0u);
  inbox.push(fanout({3, 4}, 1000));  // over 3000 with what is held
  EXPECT_EQ(inbox.overflows(), 1u);
  inbox.push(fanout({5}, 10));  // queues behind the gap
  auto got = take_all(inbox);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]->gap_resume, 4u);
  EXPECT_EQ(got[0]->gap_epoch, "ep");
  EXPECT_TRUE(got[0]->picks.empty());
  EXPECT_EQ((*got[1]->events)[0].seq, 5u);
}

TEST(FanoutInbox, OneBatchIntoAnEmptyInboxIsTakenHoweverLarge) {
  FanoutInbox inbox(1024);
  inbox.push(fanout({1, 2, 3}, 5000));
  EXPECT_EQ(inbox.overflows(), 0u);
  auto got = take_all(inbox);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->picks.size(), 3u);
}

TEST(FanoutInbox, AGapAlreadyHeldIsKeptWhenItIsTheHighest) {
  FanoutInbox inbox(2048);
  inbox.push(gap_at(50));
  inbox.push(fanout({10}, 1000));
  inbox.push(fanout({11}, 1500));
  auto got = take_all(inbox);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->gap_resume, 50u);
}

// Publishes are refused past the event count, or past half of the inbox bound
// however few events fill it (large events reach the bound long before the count).
TEST(FanoutBacklog, RefusesPastTheEventCountOrHalfTheInboxBytes) {
  EXPECT_FALSE(fanout_backlogged({.events = 9999, .bytes = 1000}, 10000, 1 << 20));
  EXPECT_TRUE(fanout_backlogged({.events = 10000, .bytes = 1000}, 10000, 1 << 20));
  EXPECT_TRUE(fanout_backlogged({.events = 5, .bytes = 1 << 19}, 10000, 1 << 20));
  // The inbox's own accounting: 100 KB events, far below the count.
  FanoutInbox inbox(1 << 20);
  for (std::uint64_t seq = 1; seq <= 6; ++seq) inbox.push(fanout({seq}, 100000));
  EXPECT_EQ(inbox.overflows(), 0u);
  EXPECT_TRUE(
      fanout_backlogged({.events = inbox.events(), .bytes = inbox.bytes()}, 10000, 1 << 20));
  EXPECT_EQ(inbox.events(), 6u);
}

TEST(CatchUp, ReadsOnWhileTheLogIsThereAndNear) {
  EXPECT_FALSE(decide_catch_up(100, 100, 0, 1000).gap);
  EXPECT_FALSE(decide_catch_up(100, 1100, 100, 1000).gap);  // pruned through what was read
  EXPECT_EQ(decide_catch_up(100, 1100, 100, 1000).resume, 100u);
}

TEST(CatchUp, PrunedBeforeItWasReadOrTooFarBehindIsAGapAtTheHead) {
  auto c = decide_catch_up(100, 150, 120, 1000);
  EXPECT_TRUE(c.gap);
  EXPECT_EQ(c.resume, 150u);
  c = decide_catch_up(100, 1101, 0, 1000);
  EXPECT_TRUE(c.gap);
  EXPECT_EQ(c.resume, 1101u);
  EXPECT_FALSE(decide_catch_up(100, 50, 120, 1000).gap);  // nothing after it to miss
}

}  // namespace
}  // namespace ssehub
