#include "bus/redis/subscription_tracker.hpp"

#include <gtest/gtest.h>

namespace ssehub {
namespace {

using Changes = std::vector<SubscriptionTracker::Change>;

std::string str(const Changes& changes) {
  std::string out;
  for (const auto& c : changes) out += (c.subscribe ? "+" : "-") + c.topic + " ";
  return out;
}

// Connected, with `a` subscribed and confirmed, and just left.
SubscriptionTracker leaving_a() {
  SubscriptionTracker t;
  t.reconnect();
  t.want("a");
  t.changes();
  t.confirmed("a");
  t.unwant("a");
  return t;
}

TEST(SubscriptionTracker, ATopicIsActiveOnceItsSubscribeIsConfirmed) {
  SubscriptionTracker t;
  t.reconnect();
  t.want("a");
  EXPECT_FALSE(t.active("a"));
  EXPECT_EQ(str(t.changes()), "+a ");
  EXPECT_FALSE(t.active("a"));
  EXPECT_EQ(str(t.changes()), "");  // sent once
  t.confirmed("a");
  EXPECT_TRUE(t.active("a"));
  EXPECT_EQ(t.active_count(), 1u);
}

// The window this closes: a stream that joins a topic while its UNSUBSCRIBE is
// in flight must wait for the SUBSCRIBE that follows it.
TEST(SubscriptionTracker, JoiningWhileTheUnsubscribeIsInFlightWaitsForTheResubscribe) {
  SubscriptionTracker t = leaving_a();
  EXPECT_EQ(str(t.changes()), "-a ");
  t.want("a");
  EXPECT_FALSE(t.active("a"));
  EXPECT_EQ(str(t.changes()), "+a ");
  t.confirmed("a");  // the unsubscribe's confirmation
  EXPECT_FALSE(t.active("a"));
  t.confirmed("a");  // the subscribe's
  EXPECT_TRUE(t.active("a"));
}

TEST(SubscriptionTracker, LeavingAndJoiningBeforeTheThreadLooksSendsNothing) {
  SubscriptionTracker t = leaving_a();
  t.want("a");
  EXPECT_TRUE(t.active("a"));
  EXPECT_EQ(str(t.changes()), "");
}

TEST(SubscriptionTracker, AReconnectSubscribesEverythingWantedAgain) {
  SubscriptionTracker t;
  t.reconnect();
  t.want("a");
  t.want("b");
  t.changes();
  t.confirmed("a");
  t.disconnected();
  EXPECT_FALSE(t.active("a"));
  t.unwant("b");
  auto topics = t.reconnect();
  EXPECT_EQ(topics, (std::vector<std::string>{"a"}));
  EXPECT_EQ(str(t.changes()), "");
  t.confirmed("a");
  EXPECT_TRUE(t.active("a"));
  EXPECT_FALSE(t.active("b"));
}

TEST(SubscriptionTracker, AForgottenTopicIgnoresLateConfirmations) {
  SubscriptionTracker t;
  t.reconnect();
  t.want("a");
  t.changes();
  t.unwant("a");
  t.changes();  // -a
  t.confirmed("a");
  t.confirmed("a");
  t.confirmed("a");  // one too many: ignored
  EXPECT_FALSE(t.active("a"));
  EXPECT_TRUE(t.active_topics().empty());
}

// A recovery reads every topic the connection may hear: one whose last stream
// left is still subscribed until its UNSUBSCRIBE is answered (and a stream that
// joins it meanwhile finds it active with no command), one whose SUBSCRIBE is in
// flight will be. Reading only the active ones left such a topic's events out of
// the recovery, which then dropped them from the channel as settled.
TEST(SubscriptionTracker, KnownTopicsAreEveryTopicTheConnectionMayHear) {
  SubscriptionTracker t;
  t.want("left");
  t.want("kept");
  t.changes();
  t.confirmed("left");
  t.confirmed("kept");
  t.unwant("left");  // the subscriber thread has not sent UNSUBSCRIBE yet
  t.want("new");
  t.changes();  // -left +new, both in flight
  std::vector<std::string> active = t.active_topics();
  EXPECT_EQ(active, (std::vector<std::string>{"kept"}));
  EXPECT_EQ(t.known_topics(), (std::vector<std::string>{"kept", "left", "new"}));
  t.confirmed("left");
  t.confirmed("new");
  EXPECT_EQ(t.known_topics(), (std::vector<std::string>{"kept", "new"}));
}

}  // namespace
}  // namespace ssehub
