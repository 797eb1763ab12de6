#include "core/replay_handoff.hpp"

#include <gtest/gtest.h>

namespace ssehub {
namespace {

std::shared_ptr<const std::string> frame(std::uint64_t seq) {
  return std::make_shared<const std::string>("f" + std::to_string(seq));
}

std::vector<std::uint64_t> seqs(const std::vector<LiveFrame>& v) {
  std::vector<std::uint64_t> out;
  for (auto& f : v) out.push_back(f.seq);
  return out;
}

TEST(ReplayHandoff, WithoutReplayDeliversInOrderAndDropsRepeats) {
  ReplayHandoff h(1024);
  EXPECT_EQ(h.offer(1, frame(1)), ReplayHandoff::Offer::deliver);
  EXPECT_EQ(h.offer(2, frame(2)), ReplayHandoff::Offer::deliver);
  EXPECT_EQ(h.offer(2, frame(2)), ReplayHandoff::Offer::duplicate);
  EXPECT_EQ(h.offer(1, frame(1)), ReplayHandoff::Offer::duplicate);
  EXPECT_EQ(h.last_seq(), 2u);
}

TEST(ReplayHandoff, HoldsLiveDuringReplayAndSkipsOverlap) {
  ReplayHandoff h(1024);
  h.begin_replay();
  // Live 4..7 arrive while the replay read up to head 5.
  for (std::uint64_t s = 4; s <= 7; ++s)
    EXPECT_EQ(h.offer(s, frame(s)), ReplayHandoff::Offer::held);
  auto out = h.finish_replay(5);
  EXPECT_EQ(seqs(out), (std::vector<std::uint64_t>{6, 7}));
  EXPECT_FALSE(h.replaying());
  EXPECT_EQ(h.offer(7, frame(7)), ReplayHandoff::Offer::duplicate);
  EXPECT_EQ(h.offer(8, frame(8)), ReplayHandoff::Offer::deliver);
}

TEST(ReplayHandoff, DuplicatesWithinHeldAreDroppedOnce) {
  ReplayHandoff h(1024);
  h.begin_replay();
  h.offer(6, frame(6));
  h.offer(6, frame(6));
  h.offer(7, frame(7));
  EXPECT_EQ(seqs(h.finish_replay(5)), (std::vector<std::uint64_t>{6, 7}));
}

TEST(ReplayHandoff, EverythingHeldIsOldWhenReplayCoveredIt) {
  ReplayHandoff h(1024);
  h.begin_replay();
  h.offer(3, frame(3));
  h.offer(4, frame(4));
  EXPECT_TRUE(h.finish_replay(9).empty());
  EXPECT_EQ(h.offer(9, frame(9)), ReplayHandoff::Offer::duplicate);
  EXPECT_EQ(h.offer(10, frame(10)), ReplayHandoff::Offer::deliver);
}

TEST(ReplayHandoff, FailedReplayReleasesEverythingHeld) {
  ReplayHandoff h(1024);
  h.begin_replay();
  h.offer(3, frame(3));
  h.offer(4, frame(4));
  EXPECT_EQ(seqs(h.finish_replay(0)), (std::vector<std::uint64_t>{3, 4}));
}

TEST(ReplayHandoff, HeldBytesAreBounded) {
  ReplayHandoff h(5);  // each frame is 2 bytes
  h.begin_replay();
  EXPECT_EQ(h.offer(1, frame(1)), ReplayHandoff::Offer::held);
  EXPECT_EQ(h.offer(2, frame(2)), ReplayHandoff::Offer::held);
  EXPECT_EQ(h.offer(3, frame(3)), ReplayHandoff::Offer::overflow);
  EXPECT_EQ(h.held_bytes(), 4u);
}

// A stream on topics b and d joins while only b is subscribed on the bus: b's
// events 5 and 7 reach it, d's event 6 never does. The replay that would cover
// them fails; live delivery must not resume at the client's id (3), or 5 and 7
// would be delivered with 6 silently missing between them.
TEST(ReplayHandoff, AFailedReplayResumesWhereLiveDeliveryBecameComplete) {
  ReplayHandoff h(1024);
  h.begin_replay();
  EXPECT_EQ(h.offer(5, frame(5)), ReplayHandoff::Offer::held);
  EXPECT_EQ(h.offer(7, frame(7)), ReplayHandoff::Offer::held);
  h.subscribed();  // d confirmed: from here every topic is complete
  EXPECT_EQ(h.offer(8, frame(8)), ReplayHandoff::Offer::held);
  EXPECT_EQ(h.offer(9, frame(9)), ReplayHandoff::Offer::held);
  EXPECT_EQ(h.incomplete_through(), 7u);
  const auto resume = std::max<std::uint64_t>(3, h.incomplete_through());
  EXPECT_EQ(seqs(h.finish_replay(resume)), (std::vector<std::uint64_t>{8, 9}));
}

// The same stream, but 5 and 7 were dispatched before the bus's last release and
// are offered only after the stream began (they waited in its reactor's inbox):
// the bus's mark, not what the stream had been offered, says where delivery
// became complete.
TEST(ReplayHandoff, WhatTheBusDispatchedBeforeItsLastReleaseIsIncompleteToo) {
  ReplayHandoff h(1024);
  h.begin_replay();
  h.subscribed(7);
  EXPECT_EQ(h.incomplete_through(), 7u);
  EXPECT_EQ(h.offer(5, frame(5)), ReplayHandoff::Offer::held);
  EXPECT_EQ(h.offer(7, frame(7)), ReplayHandoff::Offer::held);
  EXPECT_EQ(h.offer(8, frame(8)), ReplayHandoff::Offer::held);
  EXPECT_EQ(seqs(h.finish_replay(h.incomplete_through())), (std::vector<std::uint64_t>{8}));
  // What the stream was offered before counts when it is the higher.
  ReplayHandoff g(1024);
  g.begin_replay();
  EXPECT_EQ(g.offer(9, frame(9)), ReplayHandoff::Offer::held);
  g.subscribed(7);
  EXPECT_EQ(g.incomplete_through(), 9u);
}

}  // namespace
}  // namespace ssehub
