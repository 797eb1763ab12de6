// The history checker on small hand-made histories: for each rule, one history that
// breaks it and one that keeps it, including histories cut off mid-way.
#include <gtest/gtest.h>

#include <algorithm>

#include "history.hpp"

namespace ssehub::chaos {
namespace {

const std::string kEpoch = "ep";

std::string id(Seq seq) {
  return kEpoch + "-" + std::to_string(seq);
}

Delivery ready() {
  Delivery d;
  d.kind = Delivery::Kind::ready;
  d.type = "ready";
  return d;
}

Delivery event(Seq seq, const std::string& topic = "a", Marker marker = 0) {
  Delivery d;
  d.kind = Delivery::Kind::event;
  d.id = id(seq);
  d.type = "e";
  d.topic = topic;
  d.marker = marker ? marker : 100 + seq;
  return d;
}

Delivery truncated(Seq resume) {
  Delivery d;
  d.kind = Delivery::Kind::truncated;
  d.id = id(resume);
  d.type = "replay-truncated";
  return d;
}

Delivery failed() {
  Delivery d;
  d.kind = Delivery::Kind::failed;
  d.type = "replay-failed";
  return d;
}

Connection conn(const std::string& last_event_id, std::vector<Delivery> items) {
  Connection c;
  c.replica = 0;
  c.status = 200;
  c.last_event_id = last_event_id;
  c.items = std::move(items);
  return c;
}

// Events 1..n committed: odd seqs on topic a, even on b, marker 100 + seq, all from
// one acknowledged publish; one subscriber on `topics` anchored at 0.
History committed(Seq n, std::vector<std::string> topics = {"a", "b"}) {
  History h;
  h.epoch = kEpoch;
  h.head = n;
  PublishOp op;
  op.source = "test";
  op.outcome = PublishOp::Outcome::ok;
  for (Seq s = 1; s <= n; ++s) {
    const std::string topic = s % 2 ? "a" : "b";
    h.committed.push_back({s, topic, "e", 100 + s});
    op.events.push_back({topic, 100 + s});
    op.ids.push_back(id(s));
  }
  h.publishes.push_back(op);
  SubscriberHistory sub;
  sub.id = 0;
  sub.topics = std::move(topics);
  sub.start = 0;
  h.subscribers.push_back(sub);
  return h;
}

Delivery ev(Seq seq) {
  return event(seq, seq % 2 ? "a" : "b");
}

bool has(const CheckResult& r, const std::string& text) {
  return std::any_of(r.violations.begin(), r.violations.end(),
                     [&](const std::string& v) { return v.find(text) != std::string::npos; });
}

std::string all(const CheckResult& r) {
  std::string s;
  for (const auto& v : r.violations) s += v + "\n";
  return s;
}

TEST(HistoryChecker, EverythingOnOneConnectionPasses) {
  History h = committed(4);
  h.subscribers[0].connections.push_back(conn("", {ready(), ev(1), ev(2), ev(3), ev(4)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(r.violations.empty()) << all(r);
  EXPECT_EQ(r.deliveries_checked, 4u);
  EXPECT_EQ(r.events_required, 4u);
}

TEST(HistoryChecker, IdsThatGoBackwardsAreAViolation) {
  History h = committed(4);
  h.subscribers[0].connections.push_back(conn("", {ready(), ev(1), ev(3), ev(2), ev(4)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "seq 2 after seq 3")) << all(r);
}

TEST(HistoryChecker, AnEventTwiceAcrossAReconnectIsADuplicate) {
  History h = committed(4);
  auto& c = h.subscribers[0].connections;
  c.push_back(conn("", {ready(), ev(1), ev(2)}));
  c.push_back(conn(id(2), {ready(), ev(2), ev(3), ev(4)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "seq 2 was already received")) << all(r);
}

TEST(HistoryChecker, ConnectionsCutMidWayResumeWithoutLoss) {
  History h = committed(6);
  auto& c = h.subscribers[0].connections;
  c.push_back(conn("", {ready(), ev(1), ev(2)}));
  c.push_back(conn(id(2), {}));  // refused: no ready, nothing
  c.back().status = 503;
  c.push_back(conn(id(2), {ready(), ev(3)}));
  c.push_back(conn(id(3), {ready(), ev(4), ev(5), ev(6)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(r.violations.empty()) << all(r);
  EXPECT_EQ(r.events_required, 6u);
}

TEST(HistoryChecker, AnEventMissingLiveIsLost) {
  History h = committed(4);
  h.subscribers[0].connections.push_back(conn("", {ready(), ev(1), ev(3), ev(4)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "lost 1 events seq 2..2")) << all(r);
  EXPECT_TRUE(has(r, "on one connection")) << all(r);
  EXPECT_EQ(r.events_lost, 1u);
}

TEST(HistoryChecker, LossesOnOneTopicAreOneRunWhileOthersArrive) {
  History h = committed(10);
  h.subscribers[0].connections.push_back(
      conn("", {ready(), ev(1), ev(2), ev(4), ev(6), ev(8), ev(9), ev(10)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "lost 3 events seq 3..7 on topic a")) << all(r);
  EXPECT_EQ(r.kinds.at("subscriber N: lost"), 1u);
}

TEST(HistoryChecker, AnEventMissingAcrossAReconnectIsLost) {
  History h = committed(4);
  auto& c = h.subscribers[0].connections;
  c.push_back(conn("", {ready(), ev(1)}));
  c.push_back(conn(id(1), {ready(), ev(3), ev(4)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "lost 1 events seq 2..2")) << all(r);
  EXPECT_TRUE(has(r, "across reconnects")) << all(r);
}

TEST(HistoryChecker, EventsAfterTheLastOneReceivedAreLostWhenTheHistoryIsWhole) {
  History h = committed(4);
  h.subscribers[0].connections.push_back(conn("", {ready(), ev(1), ev(2)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "lost 1 events seq 3..3 on topic a")) << all(r);
  EXPECT_TRUE(has(r, "lost 1 events seq 4..4 on topic b")) << all(r);
  EXPECT_TRUE(has(r, "never caught up")) << all(r);
}

TEST(HistoryChecker, AHistoryCutAtAnEndMarkRequiresNothingAfterIt) {
  History h = committed(4);
  h.subscribers[0].end = 2;
  h.subscribers[0].connections.push_back(conn("", {ready(), ev(1), ev(2)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(r.violations.empty()) << all(r);
}

TEST(HistoryChecker, ReplayTruncatedExcusesTheRangeItDeclares) {
  History h = committed(6);
  auto& c = h.subscribers[0].connections;
  c.push_back(conn("", {ready(), ev(1)}));
  c.push_back(conn(id(1), {ready(), truncated(5), ev(6)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(r.violations.empty()) << all(r);
  EXPECT_EQ(r.events_excused, 4u);
}

TEST(HistoryChecker, ReplayTruncatedExcusesNothingPastItsResumeId) {
  History h = committed(6);
  auto& c = h.subscribers[0].connections;
  c.push_back(conn("", {ready(), ev(1)}));
  c.push_back(conn(id(1), {ready(), truncated(3), ev(6)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "lost 1 events seq 4..4 on topic b")) << all(r);
  EXPECT_TRUE(has(r, "lost 1 events seq 5..5 on topic a")) << all(r);
}

TEST(HistoryChecker, AGapSignalledMidStreamExcusesItsRange) {
  History h = committed(8);
  h.subscribers[0].connections.push_back(
      conn("", {ready(), ev(1), ev(2), truncated(6), ev(7), ev(8)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(r.violations.empty()) << all(r);
}

TEST(HistoryChecker, AReplayTruncatedThatMovesBackIsAViolation) {
  History h = committed(6);
  auto& c = h.subscribers[0].connections;
  c.push_back(conn("", {ready(), ev(1), ev(2), ev(3), ev(4)}));
  c.push_back(conn(id(4), {ready(), truncated(2), ev(5), ev(6)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "replay-truncated seq 2")) << all(r);
}

TEST(HistoryChecker, ReplayFailedExcusesUpToTheNextEventOnItsConnection) {
  History h = committed(6);
  auto& c = h.subscribers[0].connections;
  c.push_back(conn("", {ready(), ev(1)}));
  c.push_back(conn(id(1), {ready(), failed(), ev(5), ev(6)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(r.violations.empty()) << all(r);
  EXPECT_EQ(r.events_excused, 3u);
}

TEST(HistoryChecker, ReplayFailedWithNothingAfterItExcusesNothing) {
  History h = committed(6);
  auto& c = h.subscribers[0].connections;
  c.push_back(conn("", {ready(), ev(1)}));
  c.push_back(conn(id(1), {ready(), failed()}));  // cut before any event
  c.push_back(conn(id(1), {ready(), ev(5), ev(6)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "lost 2 events seq 2..4 on topic b")) << all(r);
  EXPECT_TRUE(has(r, "lost 1 events seq 3..3 on topic a")) << all(r);
  EXPECT_EQ(r.events_lost, 3u);
}

TEST(HistoryChecker, OnlyEventsAboveTheStartMarkAreRequired) {
  History h = committed(6);
  h.subscribers[0].start = 3;
  h.subscribers[0].connections.push_back(conn("", {ready(), ev(4), ev(5), ev(6)}));
  auto r = check_delivery(h);
  EXPECT_TRUE(r.violations.empty()) << all(r);
  EXPECT_EQ(r.events_required, 3u);

  h.subscribers[0].connections[0] = conn("", {ready(), ev(5), ev(6)});
  r = check_delivery(h);
  EXPECT_TRUE(has(r, "lost 1 events seq 4..4")) << all(r);
}

TEST(HistoryChecker, ASubscriberWithoutStartMarkIsOwedNothing) {
  History h = committed(4);
  h.subscribers[0].start.reset();
  h.subscribers[0].connections.push_back(conn("", {ready(), ev(3)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(r.violations.empty()) << all(r);
  EXPECT_EQ(r.events_required, 0u);
}

TEST(HistoryChecker, OnlyItsOwnTopicsAreRequiredAndNoOtherMayArrive) {
  History h = committed(6, {"a"});
  h.subscribers[0].connections.push_back(conn("", {ready(), ev(1), ev(3), ev(5)}));
  auto r = check_delivery(h);
  EXPECT_TRUE(r.violations.empty()) << all(r);

  h.subscribers[0].connections[0] = conn("", {ready(), ev(1), ev(2), ev(3), ev(5)});
  r = check_delivery(h);
  EXPECT_TRUE(has(r, "is on topic b, not subscribed")) << all(r);
}

TEST(HistoryChecker, AnIdNotInTheStoreIsAPhantom) {
  History h = committed(2);
  h.subscribers[0].connections.push_back(conn("", {ready(), ev(1), ev(2), event(9)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "ep-9 (marker 0.109) is not in the store")) << all(r);
}

TEST(HistoryChecker, AnIdCarryingAnotherEventIsMisattributed) {
  History h = committed(2);
  h.subscribers[0].connections.push_back(conn("", {ready(), ev(1), event(2, "b", 101)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "misattributed") || has(r, "carries marker 0.101")) << all(r);
}

TEST(HistoryChecker, AnIdOfAnotherEpochIsAViolation) {
  History h = committed(2);
  Delivery d = ev(2);
  d.id = "other-2";
  h.subscribers[0].connections.push_back(conn("", {ready(), ev(1), d}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "is not of the store's epoch")) << all(r);
}

TEST(HistoryChecker, AnEventBeforeReadyIsAViolation) {
  History h = committed(2);
  h.subscribers[0].connections.push_back(conn("", {ev(1), ready(), ev(2)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "before `ready`")) << all(r);
}

TEST(HistoryChecker, AReconnectMustCarryTheLastIdHeld) {
  History h = committed(4);
  auto& c = h.subscribers[0].connections;
  c.push_back(conn("", {ready(), ev(1), ev(2)}));
  c.push_back(conn(id(1), {ready(), ev(3), ev(4)}));
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "harness")) << all(r);
}

TEST(HistoryChecker, AnAcknowledgedPublishMustBeCommittedWhereItsIdsSay) {
  History h = committed(3);
  h.subscribers.clear();
  EXPECT_TRUE(check_delivery(h).violations.empty());

  PublishOp lost;
  lost.source = "lost";
  lost.outcome = PublishOp::Outcome::ok;
  lost.events = {{"a", 900}};
  lost.ids = {id(4)};
  h.publishes.push_back(lost);
  auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "acknowledged id ep-4 (marker 0.900) which is not in the store")) << all(r);

  h.publishes.back().ids = {id(2)};  // an id that holds someone else's event
  r = check_delivery(h);
  EXPECT_TRUE(has(r, "but that seq holds 0.102")) << all(r);
}

TEST(HistoryChecker, AnAcknowledgedBatchHasConsecutiveIds) {
  History h = committed(3);
  h.subscribers.clear();
  h.publishes[0].ids = {id(1), id(3), id(2)};
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "is not consecutive")) << all(r);
}

TEST(HistoryChecker, AnUnknownOutcomeIsStoredOnceOrNotAtAll) {
  History h = committed(2);
  h.subscribers.clear();
  PublishOp maybe;
  maybe.source = "maybe";
  maybe.outcome = PublishOp::Outcome::unknown;
  maybe.status = 503;
  maybe.events = {{"a", 500}, {"a", 501}};
  h.publishes.push_back(maybe);
  EXPECT_TRUE(check_delivery(h).violations.empty());  // not at all

  h.committed.push_back({3, "a", "e", 500});
  h.committed.push_back({4, "a", "e", 501});
  h.head = 4;
  EXPECT_TRUE(check_delivery(h).violations.empty());  // once

  h.committed.push_back({5, "a", "e", 500});
  h.committed.push_back({6, "a", "e", 501});
  h.head = 6;
  auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "marker 0.500 is stored 2 times (seqs 3,5)")) << all(r);

  h.committed.resize(3);  // 500 only
  h.head = 3;
  r = check_delivery(h);
  EXPECT_TRUE(has(r, "only 1 of 2 events are in the store")) << all(r);
}

TEST(HistoryChecker, ARefusedPublishMustNotBeStored) {
  History h = committed(2);
  h.subscribers.clear();
  PublishOp refused;
  refused.source = "refused";
  refused.outcome = PublishOp::Outcome::failed;
  refused.status = 413;
  refused.events = {{"a", 700}};
  h.publishes.push_back(refused);
  EXPECT_TRUE(check_delivery(h).violations.empty());
  h.committed.push_back({3, "a", "e", 700});
  h.head = 3;
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "refused 413")) << all(r);
}

TEST(HistoryChecker, ACommitNoPublishSentIsAPhantom) {
  History h = committed(2);
  h.subscribers.clear();
  h.committed.push_back({3, "a", "e", 999});
  h.head = 3;
  const auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "holds marker 0.999 that no publish sent")) << all(r);
}

TEST(HistoryChecker, TheLogHasNoHoleAndEndsAtTheHead) {
  History h = committed(4);
  h.subscribers.clear();
  EXPECT_TRUE(check_delivery(h).violations.empty());
  h.committed.erase(h.committed.begin() + 1);  // seq 2
  h.publishes[0].events.erase(h.publishes[0].events.begin() + 1);
  h.publishes[0].ids.erase(h.publishes[0].ids.begin() + 1);
  auto r = check_delivery(h);
  EXPECT_TRUE(has(r, "1 seqs missing from ssehub_events (first 2..2)")) << all(r);
  h = committed(4);
  h.subscribers.clear();
  h.head = 5;
  r = check_delivery(h);
  EXPECT_TRUE(has(r, "head_seq is 5 but the last stored seq is 4")) << all(r);
}

TEST(HistoryChecker, RepeatedViolationsAreCountedNotAllListed) {
  History h = committed(100, {"a", "b"});
  std::vector<Delivery> items{ready()};
  for (Seq s = 1; s <= 100; ++s) items.push_back(ev(1));
  h.subscribers[0].end = 1;
  h.subscribers[0].connections.push_back(conn("", items));
  const auto r = check_delivery(h);
  EXPECT_LE(r.violations.size(), 22u);
  EXPECT_TRUE(has(r, "99 more") || has(r, "79 more")) << all(r);
  EXPECT_EQ(r.kinds.at("subscriber N: duplicate"), 99u);
}

}  // namespace
}  // namespace ssehub::chaos
