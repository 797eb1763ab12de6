// The stream's contract, one body over every backend: the memory store with the
// local bus, the Postgres store with its log follower, the Postgres store with the
// Redis bus. Live delivery, replay after Last-Event-ID, truncation past the replay
// limit, unknown ids, the replay-to-live hand-off and heartbeats must read the same
// on the wire whichever backend carries the events.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "pg_test_support.hpp"
#include "redis_server.hpp"

namespace ssehub::test {
namespace {

using json = nlohmann::json;

enum class Backend { memory, pglog, redis };

std::string backend_name(Backend b) {
  switch (b) {
    case Backend::memory:
      return "memory";
    case Backend::pglog:
      return "pglog";
    case Backend::redis:
      return "redis";
  }
  return "unknown";
}

class StreamContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() != Backend::memory) url_ = create_test_database();
    if (GetParam() == Backend::redis) redis_ = std::make_unique<RedisServer>();
  }

  // A daemon on this test's backend, ready (its store and bus connected) before it
  // is used.
  std::unique_ptr<Daemon> start(const Env& extra = {}) {
    Env env;
    if (GetParam() != Backend::memory) {
      env["SSEHUB_STORE_KIND"] = "postgres";
      env["SSEHUB_STORE_POSTGRES_URL"] = url_;
    }
    if (GetParam() == Backend::redis) {
      env["SSEHUB_BUS_KIND"] = "redis";
      env["SSEHUB_BUS_REDIS_URL"] = redis_->url();
    }
    for (auto& [k, v] : extra) env[k] = v;
    auto d = std::make_unique<Daemon>(env);
    EXPECT_TRUE(
        eventually([&] { return http(d->port(), "GET", "/health/ready").status == 200; }, 10000ms))
        << tail(d->log());
    return d;
  }

  std::string url_;
  std::unique_ptr<RedisServer> redis_;
};

// Publishes `n` events on `topic` in one batch; returns their ids.
std::vector<std::string> publish_n(std::uint16_t port, const std::string& topic, int n) {
  json batch = json::array();
  for (int i = 0; i < n; ++i) {
    batch.push_back({{"topic", topic}, {"type", "t"}, {"data", {{"i", i}}}});
  }
  auto ids = publish(port, batch.dump());
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(n));
  return ids;
}

// Reads non-heartbeat events until one has `last_id` (or `timeout` passes); returns the
// ids seen.
std::vector<std::string> ids_until(SseStream& s, const std::string& last_id, Ms timeout) {
  std::vector<std::string> seen;
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    auto left = std::chrono::duration_cast<Ms>(end - std::chrono::steady_clock::now());
    auto e = s.next_non_heartbeat(std::max(left, 1ms));
    if (!e) break;
    seen.push_back(e->id.value_or("<no id: " + e->type + ">"));
    if (e->id == last_id) break;
  }
  return seen;
}

TEST_P(StreamContract, LiveEventsOfTheSubscribedTopicsArriveInOrder) {
  auto d = start();
  SseStream s(d->port(), "/events?topic=orders&topic=users");
  ASSERT_TRUE(open_ready(s));
  auto ids = publish(d->port(), R"([{"topic":"orders","type":"created","data":{"n":1}},
                                    {"topic":"other","type":"x","data":0},
                                    {"topic":"users","type":"joined","data":"bob"}])");
  ASSERT_EQ(ids.size(), 3u);
  auto more = publish_n(d->port(), "orders", 3);
  ASSERT_EQ(more.size(), 3u);
  auto e1 = s.next_non_heartbeat(3000ms);
  auto e2 = s.next_non_heartbeat(3000ms);
  ASSERT_TRUE(e1 && e2);
  EXPECT_EQ(e1->id, ids[0]);
  EXPECT_EQ(e1->type, "created");
  EXPECT_EQ(json::parse(e1->data)["n"], 1);
  EXPECT_EQ(e2->id, ids[2]);
  EXPECT_EQ(e2->type, "joined");
  EXPECT_EQ(e2->data, "\"bob\"");
  for (const auto& id : more) {
    auto e = s.next_non_heartbeat(3000ms);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->id, id);
  }
  EXPECT_FALSE(s.next_non_heartbeat(300ms));  // "other" is not delivered
}

// A stream of several topics names each event's topic, so one stream can serve
// subscribers of different topics (the shared stream of the JS client).
TEST_P(StreamContract, EveryEventNamesItsTopicLiveAndInReplay) {
  auto d = start();
  SseStream s(d->port(), "/events?topic=orders&topic=users");
  ASSERT_TRUE(open_ready(s));
  auto ids = publish(d->port(), R"([{"topic":"orders","type":"t","data":1},
                                    {"topic":"users","type":"t","data":2}])");
  ASSERT_EQ(ids.size(), 2u);
  auto e1 = s.next_non_heartbeat(3000ms);
  auto e2 = s.next_non_heartbeat(3000ms);
  ASSERT_TRUE(e1 && e2);
  EXPECT_EQ(e1->topic, "orders");
  EXPECT_EQ(e2->topic, "users");

  SseStream replayed(d->port(), "/events?topic=users&topic=orders", {{"Last-Event-ID", ids[0]}});
  ASSERT_TRUE(open_ready(replayed));
  auto r = replayed.next_non_heartbeat(3000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, ids[1]);
  EXPECT_EQ(r->topic, "users");
}

// `ready` carries the position the stream starts from: a client that never saw
// an event resumes from it and misses nothing published after `ready`.
TEST_P(StreamContract, ReadyCarriesAResumePointForAStreamThatSawNoEvent) {
  auto d = start();
  auto before = publish_n(d->port(), "a", 2);
  ASSERT_EQ(before.size(), 2u);
  SseStream s(d->port(), "/events?topic=a");
  ASSERT_EQ(s.read_head(), 200);
  auto ready = s.next_non_heartbeat();
  ASSERT_TRUE(ready && ready->type == "ready");
  auto data = json::parse(ready->data);
  ASSERT_TRUE(data.contains("lastId")) << ready->data;
  const std::string at = data["lastId"];
  EXPECT_EQ(at, before[1]);  // a replica that published them knows they exist
  s.close_socket();

  auto missed = publish_n(d->port(), "a", 2);
  ASSERT_EQ(missed.size(), 2u);
  SseStream resumed(d->port(), "/events?topic=a", {{"Last-Event-ID", at}});
  ASSERT_TRUE(open_ready(resumed));
  EXPECT_EQ(ids_until(resumed, missed[1], 3000ms), missed);
}

TEST_P(StreamContract, ReplaysWhatFollowsTheLastEventIdThenGoesLive) {
  auto d = start();
  auto ids = publish_n(d->port(), "a", 5);
  publish_n(d->port(), "b", 2);
  ASSERT_EQ(ids.size(), 5u);
  SseStream s(d->port(), "/events?topic=a", {{"Last-Event-ID", ids[1]}});
  ASSERT_TRUE(open_ready(s));
  for (int i = 2; i < 5; ++i) {
    auto e = s.next_non_heartbeat(3000ms);
    ASSERT_TRUE(e) << "event " << i;
    EXPECT_EQ(e->id, ids[i]);
    EXPECT_EQ(json::parse(e->data)["i"], i);
  }
  auto live = publish_n(d->port(), "a", 1);
  ASSERT_EQ(live.size(), 1u);
  auto e = s.next_non_heartbeat(3000ms);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, live[0]);  // nothing of "b", nothing twice

  // From the newest id: nothing to replay.
  SseStream caught_up(d->port(), "/events?topic=a", {{"Last-Event-ID", live[0]}});
  ASSERT_TRUE(open_ready(caught_up));
  EXPECT_FALSE(caught_up.next_non_heartbeat(300ms));
}

TEST_P(StreamContract, PastTheReplayLimitOneTruncationCarriesTheResumeId) {
  auto d = start({{"SSEHUB_REPLAY_LIMIT", "3"}});
  auto ids = publish_n(d->port(), "a", 6);
  ASSERT_EQ(ids.size(), 6u);
  SseStream s(d->port(), "/events?topic=a", {{"Last-Event-ID", ids[0]}});
  ASSERT_TRUE(open_ready(s));
  expect_limit_truncation(s.next_non_heartbeat(3000ms), ids[5], 3, ids[0]);
  EXPECT_FALSE(s.next_non_heartbeat(300ms));  // no partial replay
  auto live = publish_n(d->port(), "a", 1);
  ASSERT_EQ(live.size(), 1u);
  auto e = s.next_non_heartbeat(3000ms);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, live[0]);

  // Exactly the limit is a full replay.
  SseStream full(d->port(), "/events?topic=a", {{"Last-Event-ID", ids[3]}});
  ASSERT_TRUE(open_ready(full));
  for (const auto& id : {ids[4], ids[5], live[0]}) {
    auto r = full.next_non_heartbeat(3000ms);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, "t");
    EXPECT_EQ(r->id, id);
  }
}

TEST_P(StreamContract, AnUnknownIdIsTruncatedToTheHeadAndLiveEventsFollow) {
  auto d = start();
  auto ids = publish_n(d->port(), "a", 3);
  ASSERT_EQ(ids.size(), 3u);
  const std::string epoch = epoch_of(ids[0]);
  for (const std::string& bad :
       {std::string("garbage"), std::string("zz9zz-1"), epoch + "-99", epoch + "-"}) {
    SseStream s(d->port(), "/events?topic=a", {{"Last-Event-ID", bad}});
    ASSERT_TRUE(open_ready(s)) << bad;
    auto t = s.next_non_heartbeat(3000ms);
    ASSERT_TRUE(t) << bad;
    EXPECT_EQ(t->type, "replay-truncated") << bad;
    EXPECT_EQ(t->id, ids[2]) << bad;
    auto data = json::parse(t->data);
    EXPECT_EQ(data["reason"], "unknown-id") << bad;
    EXPECT_EQ(data["requestedAfter"], bad) << bad;
    auto live = publish_n(d->port(), "a", 1);
    ASSERT_EQ(live.size(), 1u);
    auto e = s.next_non_heartbeat(3000ms);
    ASSERT_TRUE(e) << bad;
    EXPECT_EQ(e->id, live[0]) << bad;
    ids[2] = live[0];  // the head moved
  }
  EXPECT_TRUE(d->running());
}

// Streams join with a Last-Event-ID while events keep being published: every event
// after the id arrives once and in order, whether it fell into the replay, into the
// live events held during the replay, or after it.
TEST_P(StreamContract, EventsPublishedDuringAReplayArriveOnceInOrder) {
  auto d = start();
  constexpr int kBacklog = 400;
  constexpr int kLive = 150;
  constexpr int kStreams = 4;
  std::vector<std::string> all = publish_n(d->port(), "h", kBacklog);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kBacklog));
  const std::string from = all.front();

  std::mutex mutex;
  std::atomic<int> published{0};
  std::atomic<bool> failed{false};
  std::thread publisher([&] {
    for (int i = 0; i < kLive; ++i) {
      auto got = publish(d->port(), json{{"topic", "h"}, {"type", "t"}, {"data", i}}.dump());
      if (got.size() != 1) {
        failed = true;
        return;
      }
      {
        std::lock_guard lock(mutex);
        all.push_back(got[0]);
      }
      ++published;
    }
  });
  std::vector<std::unique_ptr<SseStream>> streams;
  for (int k = 0; k < kStreams; ++k) {
    // Spread the joins over the publishing.
    const int at = k * kLive / (kStreams + 1);
    eventually([&] { return published >= at || failed; }, 10000ms);
    streams.push_back(
        std::make_unique<SseStream>(d->port(), "/events?topic=h", Env{{"Last-Event-ID", from}}));
    EXPECT_TRUE(open_ready(*streams.back())) << "stream " << k;
  }
  publisher.join();
  ASSERT_FALSE(failed) << tail(d->log());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kBacklog + kLive));
  const std::vector<std::string> expected(all.begin() + 1, all.end());
  for (int k = 0; k < kStreams; ++k) {
    const auto seen = ids_until(*streams[k], all.back(), 15000ms);
    EXPECT_EQ(seen, expected) << "stream " << k << " saw " << seen.size() << " of "
                              << expected.size();
  }
}

TEST_P(StreamContract, HeartbeatsComeAtTheConfiguredIntervalBetweenEvents) {
  auto d = start({{"SSEHUB_STREAM_HEARTBEAT_MS", "150"}});
  SseStream s(d->port(), "/events?topic=a");
  ASSERT_EQ(s.read_head(), 200);
  auto ready = s.next(3000ms);
  ASSERT_TRUE(ready);
  ASSERT_EQ(ready->type, "ready");
  EXPECT_EQ(json::parse(ready->data)["heartbeatMs"], 150);
  const auto started = std::chrono::steady_clock::now();
  std::int64_t last_ts = 0;
  for (int i = 0; i < 3; ++i) {
    auto h = s.next(2000ms);
    ASSERT_TRUE(h) << "heartbeat " << i;
    EXPECT_EQ(h->type, "heartbeat");
    EXPECT_FALSE(h->id);
    const auto ts = json::parse(h->data)["ts"].get<std::int64_t>();
    EXPECT_GT(ts, 1600000000000);
    EXPECT_GE(ts, last_ts);
    last_ts = ts;
  }
  // Three intervals of 150 ms, well under the 15 s default.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3000ms);
  auto live = publish_n(d->port(), "a", 1);
  ASSERT_EQ(live.size(), 1u);
  auto e = s.next_non_heartbeat(3000ms);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, live[0]);
  auto after = s.next(2000ms);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->type, "heartbeat");  // heartbeats go on after live events
}

INSTANTIATE_TEST_SUITE_P(Backends, StreamContract,
                         ::testing::Values(Backend::memory, Backend::pglog, Backend::redis),
                         [](const auto& param_info) { return backend_name(param_info.param); });

}  // namespace
}  // namespace ssehub::test
