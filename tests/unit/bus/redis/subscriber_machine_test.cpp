#include "bus/redis/subscriber_machine.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "subscriber_harness.hpp"

namespace ssehub::subscriber_test {
namespace {

using namespace std::chrono_literals;

TEST(SubscriberMachine, SubscribesToHeadsSentinelAndEveryWantedTopicInOneCommand) {
  Harness h;
  h.m.want("a");
  h.m.want("b");
  h.feed(sub::Start{0});
  EXPECT_EQ(h.m.phase(), SubscriberMachine::Phase::connect);
  EXPECT_EQ(h.m.health().state, SubscriberState::connecting);
  auto sends = all_of<sub::Send>(h.feed(sub::Opened{}));
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].commands.at(0),
            (std::vector<std::string>{"SUBSCRIBE", kHeads, kSentinel, channel("a"), channel("b")}));
  EXPECT_EQ(h.m.phase(), SubscriberMachine::Phase::subscribing);
}

TEST(SubscriberMachine, AStreamBeginsOnlyAfterEveryConfirmationAndTheRecoveryFromTheMark) {
  Harness h;
  h.m.want("a");
  h.feed(sub::Start{0});
  h.store = {ev(1), ev(2)};
  bool begun = false;
  EXPECT_FALSE(h.m.subscribed({"a"}, [&] { begun = true; }));
  h.feed(sub::Opened{});
  // Confirmations one by one: nothing is read or released before the last.
  h.feed(confirm(kHeads));
  h.feed(confirm(kSentinel));
  EXPECT_EQ(h.recoveries, 0);
  EXPECT_FALSE(begun);
  auto actions = h.feed(confirm(channel("a")));
  EXPECT_EQ(h.recoveries, 1);
  EXPECT_TRUE(begun);
  EXPECT_EQ(h.delivered_seqs(), (Seqs{1, 2}));
  // The recovered events reach the hub before the stream is released.
  auto deliver = std::find_if(actions.begin(), actions.end(),
                              [](auto& a) { return std::holds_alternative<sub::Deliver>(a); });
  auto release = std::find_if(actions.begin(), actions.end(),
                              [](auto& a) { return std::holds_alternative<sub::Release>(a); });
  ASSERT_NE(release, actions.end());
  EXPECT_LT(deliver - actions.begin(), release - actions.begin());
  EXPECT_TRUE(h.m.ready());
}

TEST(SubscriberMachine, MessagesHeardWhileSubscribingFollowTheRecoveryWithoutDuplicates) {
  Harness h;
  h.m.want("a");
  h.feed(sub::Start{0});
  h.store = {ev(1), ev(2), ev(3)};
  h.feed(sub::Opened{});
  h.feed(confirm(kHeads));
  // Batch 2..3 arrives before the last confirmation: it is held, not handled.
  h.feed(message(ev(2)));
  h.feed(message(ev(3)));
  h.feed(notice(1, 3));
  EXPECT_TRUE(h.delivered.empty());
  h.feed(confirm(kSentinel));
  h.feed(confirm(channel("a")));
  // The recovery read 1..3; the held batch is already covered.
  EXPECT_EQ(h.delivered_seqs(), (Seqs{1, 2, 3}));
  EXPECT_EQ(h.m.complete_through(), 3u);
}

TEST(SubscriberMachine, ABatchIsDeliveredWhenItsNoticeComesAndNotBefore) {
  Harness h;
  h.m.want("a");
  h.connect();
  h.store = {ev(1), ev(2)};
  h.feed(message(ev(1)));
  h.feed(message(ev(2)));
  h.feed(sub::ReadDone{});
  EXPECT_TRUE(h.delivered.empty());
  h.feed(notice(0, 2));
  EXPECT_TRUE(h.delivered.empty());  // delivered as one batch per read
  auto actions = h.feed(sub::ReadDone{});
  ASSERT_EQ(all_of<sub::Deliver>(actions).size(), 1u);
  EXPECT_EQ(h.delivered_seqs(), (Seqs{1, 2}));
  EXPECT_EQ(h.recoveries, 1);  // the one at subscribe
}

TEST(SubscriberMachine, ANoticeAboveTheMarkRecoversTheMissedBatchFromTheStore) {
  Harness h;
  h.m.want("a");
  h.connect();
  // Batch 1..2 was never published; batch 3 was.
  h.store = {ev(1), ev(2), ev(3)};
  h.feed(message(ev(3)));
  auto actions = h.feed(notice(2, 3));
  auto recovers = all_of<sub::Recover>(actions);
  ASSERT_EQ(recovers.size(), 1u);
  EXPECT_EQ(recovers[0].after, 0u);
  EXPECT_EQ(recovers[0].why, "missed batches");
  h.feed(sub::ReadDone{});
  EXPECT_EQ(h.delivered_seqs(), (Seqs{1, 2, 3}));
  EXPECT_EQ(h.m.health().gaps, 1u);
}

// Serving `a`; a stream joins `b`, new to the replica, and waits for it.
void join_b(Harness& h, bool& begun) {
  h.m.want("a");
  h.connect();
  h.m.want("b");
  EXPECT_FALSE(h.m.subscribed({"b"}, [&begun] { begun = true; }));
}

TEST(SubscriberMachine, ANewTopicReleasesItsStreamAfterTheBatchHeardBeforeItsConfirmation) {
  Harness h;
  bool begun = false;
  join_b(h, begun);
  auto sends = all_of<sub::Send>(h.feed(sub::Tick{}));
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].commands.at(0), (std::vector<std::string>{"SUBSCRIBE", channel("b")}));
  // Half of a batch on `a` is buffered when `b`'s confirmation comes.
  h.store = {ev(1), ev(2, "b")};
  h.feed(message(ev(1)));
  h.feed(confirm(channel("b")));
  h.feed(sub::ReadDone{});
  EXPECT_FALSE(begun);
  // A stream asking now waits for the same release, although `b` is active.
  bool second = false;
  EXPECT_FALSE(h.m.subscribed({"b"}, [&] { second = true; }));
  h.feed(message(ev(2, "b")));
  auto actions = h.feed(notice(0, 2));
  h.feed(sub::ReadDone{});
  EXPECT_TRUE(begun);
  EXPECT_TRUE(second);
  EXPECT_EQ(h.delivered_seqs(), (Seqs{1, 2}));
  EXPECT_GE(h.m.incomplete_through(), 2u);
}

// A stream that leaves while its topic's SUBSCRIBE is in flight (or before it is
// sent) will never see that topic confirmed: its wait is let go at the next
// round, and with it the session its callback holds.
TEST(SubscriberMachine, AWaiterWhoseStreamLeftIsLetGoWhetherTheSubscribeWasSentOrNot) {
  for (bool sent_first : {true, false}) {
    SCOPED_TRACE(sent_first ? "left with the SUBSCRIBE in flight" : "left before it was sent");
    Harness h;
    h.m.want("a");
    h.connect();
    auto session = std::make_shared<int>(1);
    std::weak_ptr<int> alive = session;
    h.m.want("x");
    ASSERT_FALSE(h.m.subscribed({"x"}, [session] {}));
    session.reset();
    if (sent_first) h.feed(sub::Tick{});
    h.m.unwant("x");
    if (sent_first) h.feed(confirm(channel("x")));
    h.feed(sub::ReadDone{});
    h.feed(sub::Tick{});
    EXPECT_TRUE(alive.expired()) << "the waiter is still held";
    // A stream that waits for a wanted topic is not let go with it.
    h.m.want("y");
    bool begun = false;
    ASSERT_FALSE(h.m.subscribed({"y", "a"}, [&] { begun = true; }));
    h.feed(sub::Tick{});
    EXPECT_FALSE(begun);
    h.feed(confirm(channel("y")));
    EXPECT_TRUE(begun);
  }
}

TEST(SubscriberMachine, AnUnansweredSubscribeReadsTheBacklogThenReconnects) {
  Harness h;
  bool begun = false;
  join_b(h, begun);
  h.feed(sub::Tick{});
  h.now.steady += 2500ms;
  auto actions = h.feed(sub::Tick{});
  auto reads = all_of<sub::ReadBacklog>(actions);
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[1].rounds, 4096);
  EXPECT_EQ(all_of<sub::Disconnect>(actions).size(), 1u);
  EXPECT_EQ(h.m.phase(), SubscriberMachine::Phase::backoff);
  EXPECT_EQ(h.m.health().state, SubscriberState::reconnecting);
  EXPECT_EQ(h.m.health().last_error, "no SUBSCRIBE/UNSUBSCRIBE confirmation in time");
  EXPECT_TRUE(begun);  // given up on: the stream goes on
  EXPECT_TRUE(h.m.subscribed({"b"}, [] {}));
}

TEST(SubscriberMachine, ConfirmationsNotInTimeFailTheConnection) {
  Harness h;
  h.feed(sub::Start{0});
  h.feed(sub::Opened{});
  h.feed(confirm(kHeads));
  h.now.steady += 1999ms;
  h.feed(sub::Tick{});
  EXPECT_EQ(h.m.phase(), SubscriberMachine::Phase::subscribing);
  h.now.steady += 2ms;
  h.feed(sub::Tick{});
  EXPECT_EQ(h.m.phase(), SubscriberMachine::Phase::backoff);
  EXPECT_EQ(h.m.health().reconnects, 1u);
}

TEST(SubscriberMachine, TheSentinelProbesAndAMissFailsReadinessAndReconnects) {
  auto o = Harness::options();
  o.sentinel_interval = 1000ms;
  o.sentinel_timeout = 500ms;
  Harness h(o);
  h.connect();
  auto probes = all_of<sub::PublishProbe>(h.feed(sub::Tick{}));
  ASSERT_EQ(probes.size(), 1u);
  h.now.steady += 20ms;
  h.now.unix_ms += 20;
  h.feed(sub::Reply{"message", kSentinel, std::to_string(probes[0].token)});
  EXPECT_TRUE(h.m.ready());
  EXPECT_EQ(h.m.health().sentinel_round_trip, std::chrono::microseconds(20000));
  EXPECT_EQ(h.m.health().sentinel_at_ms, 1'000'020);
  // The next probe never comes back.
  h.now.steady += 1000ms;
  probes = all_of<sub::PublishProbe>(h.feed(sub::Tick{}));
  ASSERT_EQ(probes.size(), 1u);
  h.now.steady += 501ms;
  auto actions = h.feed(sub::Tick{});
  auto logs = all_of<sub::Log>(actions);
  ASSERT_FALSE(logs.empty());
  EXPECT_EQ(logs[0].level, sub::Log::critical);
  EXPECT_EQ(all_of<sub::Disconnect>(actions).size(), 1u);
  EXPECT_FALSE(h.m.ready());
  EXPECT_EQ(h.m.health().sentinel_misses, 1u);
  EXPECT_FALSE(h.m.health().sentinel_healthy);
}

TEST(SubscriberMachine, AStoreAheadAtTwoChecksInARowIsRecovered) {
  Harness h;
  h.m.want("a");
  h.connect();
  h.store = {ev(1)};  // committed, never published
  h.now.steady += 1001ms;
  h.feed(sub::Tick{});
  EXPECT_TRUE(h.delivered.empty());
  h.now.steady += 1001ms;
  h.feed(sub::Tick{});
  EXPECT_EQ(h.delivered_seqs(), (Seqs{1}));
}

// Nothing real is above the store's head (a batch is committed before it is
// published). A notice that claims so would put the mark past every real event,
// and they would be dropped as already complete: the next store check sets the
// mark back and recovers what was dropped.
TEST(SubscriberMachine, ANoticeAboveTheStoreHeadIsUndoneAtTheNextStoreCheck) {
  Harness h;
  h.m.want("a");
  h.connect(0);
  h.feed(notice(0, 1'000'000'000'000ULL));
  h.store = {ev(1)};
  h.feed(message(ev(1)));  // dropped: the mark says it is settled
  h.feed(notice(0, 1));
  h.feed(sub::ReadDone{});
  EXPECT_TRUE(h.delivered.empty());
  h.now.steady += 1100ms;
  h.feed(sub::Tick{});
  EXPECT_EQ(h.delivered_seqs(), (Seqs{1}));
  EXPECT_EQ(h.m.complete_through(), 1u);
  EXPECT_EQ(h.m.health().malformed, 1u);
  // Live delivery goes on from there without the store.
  h.store.push_back(ev(2));
  h.feed(message(ev(2)));
  h.feed(notice(1, 2));
  h.feed(sub::ReadDone{});
  EXPECT_EQ(h.delivered_seqs(), (Seqs{1, 2}));
}

// An event above the store's head would stay buffered for a notice that never
// comes, hold every stream released after it, and make each later event look
// out of order (a recovery per batch): the next store check drops it.
TEST(SubscriberMachine, AnEventAboveTheStoreHeadIsDroppedAtTheNextStoreCheck) {
  Harness h;
  bool begun = false;
  join_b(h, begun);
  h.feed(message(ev(1'000'000'000'000ULL)));
  h.feed(sub::Tick{});
  h.feed(confirm(channel("b")));
  h.feed(sub::ReadDone{});
  EXPECT_FALSE(begun);  // waits for the batch of the event it was confirmed after
  h.now.steady += 1100ms;
  h.feed(sub::Tick{});
  EXPECT_TRUE(begun);
  EXPECT_EQ(h.m.health().malformed, 1u);
  const int before = h.recoveries;
  for (std::uint64_t s = 1; s <= 3; ++s) {
    h.store.push_back(ev(s));
    h.feed(message(ev(s)));
    h.feed(notice(s - 1, s));
    h.feed(sub::ReadDone{});
  }
  EXPECT_EQ(h.delivered_seqs(), (Seqs{1, 2, 3}));
  EXPECT_EQ(h.recoveries, before);
  EXPECT_TRUE(h.m.subscribed({"a"}, [] {}));
}

TEST(SubscriberMachine, MoreToRecoverThanTheBoundSignalsAGapInstead) {
  Harness h;
  h.m.want("a");
  h.feed(sub::Start{0});
  for (std::uint64_t s = 1; s <= 150; ++s) h.store.push_back(ev(s));
  h.connect();
  EXPECT_TRUE(h.delivered.empty());
  EXPECT_EQ(h.gaps, (Seqs{150}));
  EXPECT_EQ(h.m.complete_through(), 150u);
}

TEST(SubscriberMachine, AFailureWhileRecoveringDropsTheHeldRepliesAndTheNextConnectionRecovers) {
  Harness h;
  h.m.want("a");
  h.feed(sub::Start{0});
  h.store = {ev(1)};
  h.feed(sub::Opened{});
  h.feed(message(ev(1)));
  // The recovery fails (the RedisBus feeds Failed instead of Recovered).
  h.m.resume(confirm(kHeads), h.now);
  h.m.resume(confirm(kSentinel), h.now);
  auto out = h.m.resume(confirm(channel("a")), h.now);
  ASSERT_EQ(all_of<sub::Recover>(out).size(), 1u);
  h.feed(sub::Failed{"store down"});
  EXPECT_EQ(h.m.phase(), SubscriberMachine::Phase::backoff);
  EXPECT_TRUE(h.delivered.empty());
  // A late answer to the failed recovery changes nothing.
  h.feed(h.read_store(0, {"a"}));
  EXPECT_TRUE(h.delivered.empty());
  h.feed(sub::BackoffElapsed{});
  h.connect();
  EXPECT_EQ(h.delivered_seqs(), (Seqs{1}));
}

TEST(SubscriberMachine, StopGivesUpOnWaitingStreams) {
  Harness h;
  h.m.want("a");
  h.feed(sub::Start{0});
  h.feed(sub::Opened{});
  bool begun = false;
  EXPECT_FALSE(h.m.subscribed({"a"}, [&] { begun = true; }));
  h.feed(sub::Stop{});
  EXPECT_TRUE(begun);
  EXPECT_EQ(h.m.phase(), SubscriberMachine::Phase::stopped);
  EXPECT_EQ(h.m.health().state, SubscriberState::closed);
  EXPECT_TRUE(h.m.subscribed({"a"}, [] {}));
}

TEST(SubscriberMachine, MalformedMessagesAreCountedAndDropped) {
  auto o = Harness::options();
  o.sentinel_interval = 1000ms;
  Harness h(o);
  h.m.want("a");
  h.connect();
  h.feed(sub::Reply{"message", kSentinel, "12abc"});
  h.feed(sub::Reply{"message", kHeads, "{"});
  h.feed(sub::Reply{"message", channel("a"), "not json"});
  EXPECT_EQ(h.m.health().malformed, 3u);
  EXPECT_EQ(h.m.health().messages, 3u);
  EXPECT_TRUE(h.delivered.empty());
}

}  // namespace
}  // namespace ssehub::subscriber_test
