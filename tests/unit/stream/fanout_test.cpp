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

TEST(FanoutInbox, QueuesInOrderAndWakesOnlyWhenItWasEmpty) {
  FanoutInbox inbox(1 << 20);
  EXPECT_TRUE(inbox.push(fanout({1, 2}, 10)));
  EXPECT_FALSE(inbox.push(fanout({3}, 10)));
  auto got = inbox.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ((*got[1]->events)[0].seq, 3u);
  EXPECT_EQ(inbox.bytes(), 0u);
  EXPECT_TRUE(inbox.push(fanout({4}, 10)));
  EXPECT_EQ(inbox.overflows(), 0u);
}

TEST(FanoutInbox, PastItsBoundEverythingHeldBecomesOneGapAtTheHighestSeq) {
  FanoutInbox inbox(3000);
  inbox.push(fanout({1, 2}, 1000));
  EXPECT_EQ(inbox.overflows(), 0u);
  inbox.push(fanout({3, 4}, 1000));  // over 3000 with what is held
  EXPECT_EQ(inbox.overflows(), 1u);
  inbox.push(fanout({5}, 10));  // queues behind the gap
  auto got = inbox.take();
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
  auto got = inbox.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->picks.size(), 3u);
}

TEST(FanoutInbox, AGapAlreadyHeldIsKeptWhenItIsTheHighest) {
  FanoutInbox inbox(2048);
  auto gap = std::make_shared<FanoutBatch>();
  gap->events = std::make_shared<const EventBatch>();
  gap->gap_resume = 50;
  gap->gap_epoch = "ep";
  inbox.push(gap);
  inbox.push(fanout({10}, 1000));
  inbox.push(fanout({11}, 1500));
  auto got = inbox.take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->gap_resume, 50u);
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
