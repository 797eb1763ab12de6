// The Redis bus against real Redis and Postgres servers: live events across
// replicas, per-topic subscriptions, the sentinel, reconnects, and no loss across
// Redis faults (what Redis did not bring is recovered from the store).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "pg_test_support.hpp"
#include "reconnect_chaos.hpp"
#include "redis_test_support.hpp"

namespace ssehub::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

class RedisBus : public RedisTest {
 protected:
  RedisBus() { sentinel_timeout_ms = 500; }
  std::string numsub(const std::string& channel) {
    auto reply = redis_.command({"PUBSUB", "NUMSUB", channel});
    return reply.substr(reply.find('\n') + 1);
  }
};

std::vector<std::string> publish_one(std::uint16_t port, const std::string& topic, int i) {
  return publish(port, json{{"topic", topic}, {"type", "t"}, {"data", {{"i", i}}}}.dump());
}

TEST_F(RedisBus, EventsCrossReplicasAndTopicsAreSubscribedWhileServed) {
  Daemon a(redis_env()), b(redis_env());
  ASSERT_TRUE(eventually([&] { return ready(a) && ready(b); }, 5000ms));
  EXPECT_EQ(numsub("ssehub:topic:x"), "0");
  {
    SseStream on_b(b.port(), "/events?topic=x");
    ASSERT_TRUE(open_ready(on_b));
    EXPECT_EQ(numsub("ssehub:topic:x"), "1");  // subscribed before `ready`
    auto ids = publish_one(a.port(), "x", 1);
    ASSERT_EQ(ids.size(), 1u);
    auto e = on_b.next_non_heartbeat(3000ms);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->id, ids[0]);
    EXPECT_EQ(json::parse(e->data)["i"], 1);
    auto h = json::parse(http(b.port(), "GET", "/health").body);
    EXPECT_EQ(h["bus"]["kind"], "redis");
    EXPECT_EQ(h["bus"]["state"], "ready");
    EXPECT_EQ(h["bus"]["subscribedTopics"], 1);
  }
  // The last stream of the topic left: the replica unsubscribes.
  EXPECT_TRUE(eventually([&] { return numsub("ssehub:topic:x") == "0"; }, 5000ms));
  auto m = http(a.port(), "GET", "/metrics").body;
  EXPECT_GE(metric_value(m, "ssehub_redis_published_events_total"), 1);
}

TEST_F(RedisBus, PausedRedisFailsReadinessWithinTheSentinelBoundAndComesBack) {
  Daemon d(redis_env());
  ASSERT_TRUE(eventually([&] { return ready(d); }, 5000ms));
  redis_.pause();
  auto t0 = Clock::now();
  ASSERT_TRUE(eventually([&] { return !ready(d); }, 5000ms));
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  EXPECT_LE(took, 1000 + 500 + 700);  // interval + timeout + polling margin
  auto body = json::parse(http(d.port(), "GET", "/health/ready").body);
  EXPECT_EQ(body["bus"]["sentinel"]["healthy"], false);
  EXPECT_EQ(http(d.port(), "GET", "/health/live").status, 200);
  EXPECT_NE(d.log().find("redis sentinel missed"), std::string::npos);
  redis_.resume();
  ASSERT_TRUE(eventually([&] { return ready(d); }, 8000ms));
  body = json::parse(http(d.port(), "GET", "/health").body);
  EXPECT_EQ(body["bus"]["sentinel"]["healthy"], true);
  EXPECT_FALSE(body["bus"]["sentinel"]["lastRoundTripMs"].is_null());
  auto m = http(d.port(), "GET", "/metrics").body;
  EXPECT_GE(metric_value(m, "ssehub_redis_sentinel_misses_total"), 1);
}

TEST_F(RedisBus, KilledSubscriptionReconnectsAndResubscribes) {
  Daemon a(redis_env()), b(redis_env());
  SseStream on_b(b.port(), "/events?topic=k");
  ASSERT_TRUE(open_ready(on_b));
  redis_.command({"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_TRUE(eventually([&] { return numsub("ssehub:topic:k") == "1"; }, 8000ms));
  ASSERT_TRUE(eventually([&] { return ready(b); }, 8000ms));
  auto ids = publish_one(a.port(), "k", 7);
  ASSERT_EQ(ids.size(), 1u);
  auto e = on_b.next_non_heartbeat(3000ms);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, ids[0]);
  EXPECT_GE(metric_value(http(b.port(), "GET", "/metrics").body, "ssehub_redis_reconnects_total"),
            1);
  EXPECT_NE(b.log().find(R"("to":"reconnecting")"), std::string::npos);
}

TEST_F(RedisBus, RedisRestartedWhileEventsArePublishedLosesNothing) {
  Daemon a(redis_env()), b(redis_env());
  SseStream on_a(a.port(), "/events?topic=r"), on_b(b.port(), "/events?topic=r");
  ASSERT_TRUE(open_ready(on_a));
  ASSERT_TRUE(open_ready(on_b));
  std::vector<std::string> ids;
  std::atomic<bool> done{false};
  std::thread publisher([&] {
    for (int i = 0; i < 60; ++i) {
      auto got = publish_one(i % 2 ? a.port() : b.port(), "r", i);
      if (got.size() == 1) ids.push_back(got[0]);  // durable even while Redis is down
      std::this_thread::sleep_for(20ms);
    }
    done = true;
  });
  std::this_thread::sleep_for(300ms);
  redis_.stop();
  std::this_thread::sleep_for(400ms);
  redis_.start();
  publisher.join();
  ASSERT_EQ(ids.size(), 60u);
  for (SseStream* s : {&on_a, &on_b}) {
    std::vector<std::string> got;
    while (got.size() < ids.size()) {
      auto e = s->next_non_heartbeat(10000ms);
      if (!e) break;
      ASSERT_EQ(e->type, "t") << "unexpected " << e->type << " " << e->data;
      got.push_back(*e->id);
    }
    EXPECT_EQ(got, ids);
  }
  EXPECT_GE(
      metric_value(http(a.port(), "GET", "/metrics").body, "ssehub_redis_recovered_events_total") +
          metric_value(http(b.port(), "GET", "/metrics").body,
                       "ssehub_redis_recovered_events_total"),
      1);
}

TEST_F(RedisBus, MoreMissedThanTheLimitEndsInReplayTruncated) {
  Env env = redis_env({{"SSEHUB_REPLAY_LIMIT", "5"}});
  Daemon a(env), b(env);
  SseStream on_b(b.port(), "/events?topic=m");
  ASSERT_TRUE(open_ready(on_b));
  auto first = publish_one(a.port(), "m", 0);
  ASSERT_EQ(first.size(), 1u);
  auto e = on_b.next_non_heartbeat(3000ms);
  ASSERT_TRUE(e);
  redis_.stop();
  std::vector<std::string> ids;
  for (int i = 1; i <= 8; ++i) {
    auto got = publish_one(a.port(), "m", i);
    ASSERT_EQ(got.size(), 1u);
    ids.push_back(got[0]);
  }
  redis_.start();
  auto t = on_b.next_non_heartbeat(10000ms);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, "replay-truncated");
  EXPECT_EQ(t->id, ids.back());
  EXPECT_EQ(json::parse(t->data)["requestedAfter"], first[0]);
  auto next = publish_one(a.port(), "m", 9);
  ASSERT_TRUE(eventually([&] { return ready(a); }, 8000ms));
  auto live = on_b.next_non_heartbeat(5000ms);
  ASSERT_TRUE(live);
  EXPECT_EQ(live->id, next[0]);
}

TEST_F(RedisBus, MalformedMessagesAreCountedAndDropped) {
  Daemon d(redis_env());
  SseStream s(d.port(), "/events?topic=z");
  ASSERT_TRUE(open_ready(s));
  redis_.command({"PUBLISH", "ssehub:topic:z", "not json"});
  redis_.command(
      {"PUBLISH", "ssehub:topic:z", R"({"id":"x-1","seq":2,"topic":"z","type":"t","data":1})"});
  auto ids = publish_one(d.port(), "z", 1);
  auto e = s.next_non_heartbeat(3000ms);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, ids[0]);
  EXPECT_EQ(
      metric_value(http(d.port(), "GET", "/metrics").body, "ssehub_redis_malformed_messages_total"),
      2);
  EXPECT_NE(d.log().find("malformed message"), std::string::npos);
}

TEST_F(RedisBus, TwoReplicasReconnectingSubscribersSeeEveryEventOnceInOrder) {
  Daemon a(redis_env()), b(redis_env());
  check_reconnect_chaos({a.port(), b.port()});
}

}  // namespace
}  // namespace ssehub::test
