#include "ssehub/subscription_tracker.hpp"

#include <gtest/gtest.h>

namespace ssehub {
namespace {

using Changes = std::vector<SubscriptionTracker::Change>;

std::string str(const Changes& changes) {
  std::string out;
  for (const auto& c : changes) out += (c.subscribe ? "+" : "-") + c.topic + " ";
  return out;
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
  SubscriptionTracker t;
  t.reconnect();
  t.want("a");
  t.changes();
  t.confirmed("a");
  t.unwant("a");
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
  SubscriptionTracker t;
  t.reconnect();
  t.want("a");
  t.changes();
  t.confirmed("a");
  t.unwant("a");
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

}  // namespace
}  // namespace ssehub
