#include "bus/redis/subscription_tracker.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <set>

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

// Random joins, leaves, confirmations in random pieces and reconnects, against
// a Redis that answers commands in order. A topic is never active unless it is
// wanted, Redis has it subscribed and nothing sent for it is unanswered; once
// everything is answered, active is exactly wanted.
TEST(SubscriptionTracker, RandomJoinsLeavesAndConfirmationsKeepActiveHonest) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  for (int run = 0; run < 100; ++run) {
    SubscriptionTracker t;
    std::set<std::string> wanted, redis;
    std::deque<std::pair<bool, std::string>> unanswered;  // commands Redis has not answered
    auto reconnect = [&] {
      unanswered.clear();
      redis.clear();
      for (const auto& topic : t.reconnect()) {
        redis.insert(topic);
        unanswered.push_back({true, topic});
      }
    };
    auto send = [&] {
      for (const auto& c : t.changes()) {
        if (c.subscribe) {
          redis.insert(c.topic);
        } else {
          redis.erase(c.topic);
        }
        unanswered.push_back({c.subscribe, c.topic});
      }
    };
    auto answer = [&](std::size_t n) {
      while (n-- > 0 && !unanswered.empty()) {
        t.confirmed(unanswered.front().second);
        unanswered.pop_front();
      }
    };
    reconnect();
    for (int step = 0; step < 200; ++step) {
      const std::string& topic = names[rng() % names.size()];
      switch (rng() % 6) {
        case 0:
          t.want(topic);
          wanted.insert(topic);
          break;
        case 1:
          t.unwant(topic);
          wanted.erase(topic);
          break;
        case 2:
          send();
          break;
        case 3:
        case 4:
          answer(rng() % 3);
          break;
        case 5:
          if (rng() % 8 == 0) reconnect();
          break;
      }
      for (const auto& n : names) {
        const bool pending = std::any_of(unanswered.begin(), unanswered.end(),
                                         [&](const auto& c) { return c.second == n; });
        if (t.active(n)) {
          ASSERT_TRUE(wanted.contains(n) && redis.contains(n) && !pending) << n << " at " << step;
        }
      }
    }
    send();
    answer(unanswered.size());
    for (const auto& n : names) {
      EXPECT_EQ(t.active(n), wanted.contains(n)) << n;
      EXPECT_EQ(redis.contains(n), wanted.contains(n)) << n;
    }
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace ssehub
