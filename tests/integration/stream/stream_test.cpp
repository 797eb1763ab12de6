// The stream against the real daemon: live delivery, replay, truncation, heartbeats.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace ssehub::test {
namespace {

using json = nlohmann::json;

std::optional<SseEvent> expect_ready(SseStream& s) {
  EXPECT_EQ(s.read_head(), 200);
  auto ready = s.next_non_heartbeat();
  EXPECT_TRUE(ready);
  if (ready) {
    EXPECT_EQ(ready->type, "ready");
  }
  return ready;
}

std::string publish_n(std::uint16_t port, const std::string& topic, int n,
                      std::vector<std::string>* ids = nullptr) {
  json batch = json::array();
  for (int i = 0; i < n; ++i)
    batch.push_back({{"topic", topic}, {"type", "t"}, {"data", {{"i", i}}}});
  auto got = publish(port, batch.dump());
  EXPECT_EQ(got.size(), static_cast<std::size_t>(n));
  if (ids) ids->insert(ids->end(), got.begin(), got.end());
  return got.empty() ? "" : got.back();
}

TEST(Stream, HeadersRetryAndReadyThenLiveEventsInOrder) {
  Daemon d(Env{{"SSEHUB_STREAM_RETRY_MS", "1000"}, {"SSEHUB_STREAM_RETRY_JITTER_MS", "500"}});
  SseStream s(d.port(), "/events?topic=orders&topic=users");
  auto ready = expect_ready(s);
  ASSERT_TRUE(ready);
  EXPECT_EQ(s.headers().at("content-type"), "text/event-stream");
  EXPECT_EQ(s.headers().at("cache-control"), "no-cache");
  EXPECT_EQ(s.headers().at("x-accel-buffering"), "no");
  ASSERT_EQ(s.retries().size(), 1u);
  EXPECT_GE(s.retries()[0], 1000u);
  EXPECT_LE(s.retries()[0], 1500u);
  EXPECT_FALSE(ready->id);
  auto r = json::parse(ready->data);
  EXPECT_FALSE(r["connectionId"].get<std::string>().empty());
  EXPECT_EQ(r["heartbeatMs"], 15000);
  EXPECT_FALSE(r["replica"].get<std::string>().empty());

  auto ids = publish(d.port(), R"([{"topic":"orders","type":"created","data":{"n":1}},
                                   {"topic":"other","type":"x","data":0},
                                   {"topic":"users","type":"joined","data":"bob"}])");
  ASSERT_EQ(ids.size(), 3u);
  auto e1 = s.next_non_heartbeat();
  auto e2 = s.next_non_heartbeat();
  ASSERT_TRUE(e1 && e2);
  EXPECT_EQ(e1->id, ids[0]);
  EXPECT_EQ(e1->type, "created");
  EXPECT_EQ(json::parse(e1->data)["n"], 1);
  EXPECT_EQ(e2->id, ids[2]);
  EXPECT_EQ(e2->data, "\"bob\"");
  EXPECT_FALSE(s.next_non_heartbeat(200ms));  // "other" is not delivered
}

TEST(Stream, IdsHaveEpochAndIncreasingSeq) {
  Daemon d;
  auto a = publish(d.port(), R"({"topic":"t","type":"x","data":1})");
  auto b = publish(d.port(), R"({"topic":"t","type":"x","data":2})");
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(epoch_of(a[0]), epoch_of(b[0]));
  EXPECT_EQ(seq_of(b[0]), seq_of(a[0]) + 1);
}

TEST(Stream, ReplaysAfterLastEventIdHeader) {
  Daemon d;
  std::vector<std::string> ids;
  publish_n(d.port(), "a", 5, &ids);
  publish_n(d.port(), "b", 2);
  SseStream s(d.port(), "/events?topic=a", {{"Last-Event-ID", ids[1]}});
  expect_ready(s);
  for (int i = 2; i < 5; ++i) {
    auto e = s.next_non_heartbeat();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->id, ids[i]);
  }
  auto live = publish_n(d.port(), "a", 1);
  auto e = s.next_non_heartbeat();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, live);
}

TEST(Stream, ReplaysViaQueryParameterAndHeaderWins) {
  Daemon d;
  std::vector<std::string> ids;
  publish_n(d.port(), "a", 4, &ids);
  SseStream q(d.port(), "/events?topic=a&lastEventId=" + ids[2]);
  expect_ready(q);
  auto e = q.next_non_heartbeat();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, ids[3]);

  SseStream h(d.port(), "/events?topic=a&lastEventId=" + ids[0], {{"Last-Event-ID", ids[2]}});
  expect_ready(h);
  e = h.next_non_heartbeat();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, ids[3]);
}

TEST(Stream, NoLastEventIdMeansNoReplay) {
  Daemon d;
  publish_n(d.port(), "a", 3);
  SseStream s(d.port(), "/events?topic=a");
  expect_ready(s);
  EXPECT_FALSE(s.next_non_heartbeat(300ms));
}

TEST(Stream, TruncatesPastTheLimitWithTheResumeId) {
  Daemon d(Env{{"SSEHUB_REPLAY_LIMIT", "3"}});
  std::vector<std::string> ids;
  publish_n(d.port(), "a", 6, &ids);
  SseStream s(d.port(), "/events?topic=a", {{"Last-Event-ID", ids[0]}});
  expect_ready(s);
  expect_limit_truncation(s.next_non_heartbeat(), ids[5], 3, ids[0]);
  EXPECT_FALSE(s.next_non_heartbeat(200ms));  // no partial batch
  auto live = publish_n(d.port(), "a", 1);
  auto e = s.next_non_heartbeat();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, live);

  // Reconnecting from the resume id costs nothing and repeats nothing.
  SseStream again(d.port(), "/events?topic=a", {{"Last-Event-ID", live}});
  expect_ready(again);
  EXPECT_FALSE(again.next_non_heartbeat(200ms));
}

TEST(Stream, ExactlyLimitEventsAreDelivered) {
  Daemon d(Env{{"SSEHUB_REPLAY_LIMIT", "3"}});
  std::vector<std::string> ids;
  publish_n(d.port(), "a", 4, &ids);
  SseStream s(d.port(), "/events?topic=a", {{"Last-Event-ID", ids[0]}});
  expect_ready(s);
  for (int i = 1; i < 4; ++i) {
    auto e = s.next_non_heartbeat();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->id, ids[i]);
  }
}

TEST(Stream, UnknownIdCases) {
  Daemon d;
  std::vector<std::string> ids;
  publish_n(d.port(), "a", 3, &ids);
  std::string epoch = epoch_of(ids[0]);
  for (std::string bad : {std::string("garbage"), std::string("zz9zz-1"), epoch + "-99",
                          std::string("-1"), epoch + "-", std::string(300, '9'),
                          epoch + "-18446744073709551615", epoch + "-9223372036854775808"}) {
    SseStream s(d.port(), "/events?topic=a", {{"Last-Event-ID", bad}});
    expect_ready(s);
    auto t = s.next_non_heartbeat();
    ASSERT_TRUE(t) << bad;
    EXPECT_EQ(t->type, "replay-truncated") << bad;
    EXPECT_EQ(t->id, ids[2]) << bad;
    EXPECT_EQ(json::parse(t->data)["reason"], "unknown-id") << bad;
  }
  EXPECT_TRUE(d.running());
}

TEST(Stream, ExpiredWhenOlderThanTheRing) {
  Daemon d(Env{{"SSEHUB_STORE_MEMORY_CAPACITY", "3"}});
  std::vector<std::string> ids;
  publish_n(d.port(), "a", 6, &ids);  // ring keeps 4..6
  SseStream s(d.port(), "/events?topic=a", {{"Last-Event-ID", ids[1]}});
  expect_ready(s);
  auto t = s.next_non_heartbeat();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, "replay-truncated");
  EXPECT_EQ(json::parse(t->data)["reason"], "expired");
  EXPECT_EQ(t->id, ids[5]);
  // One step younger is still complete.
  SseStream ok(d.port(), "/events?topic=a", {{"Last-Event-ID", ids[2]}});
  expect_ready(ok);
  for (int i = 3; i < 6; ++i) {
    auto e = ok.next_non_heartbeat();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->id, ids[i]);
  }
}

TEST(Stream, HeartbeatsAreVisibleEvents) {
  Daemon d(Env{{"SSEHUB_STREAM_HEARTBEAT_MS", "100"}});
  SseStream s(d.port(), "/events?topic=a");
  expect_ready(s);
  for (int i = 0; i < 3; ++i) {
    auto h = s.next(2000ms);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->type, "heartbeat");
    EXPECT_FALSE(h->id);
    EXPECT_GT(json::parse(h->data)["ts"].get<std::int64_t>(), 1600000000000);
  }
}

TEST(Stream, DisconnectedClientsAreCleanedUpPromptly) {
  Daemon d;
  {
    SseStream a(d.port(), "/events?topic=a");
    SseStream b(d.port(), "/events?topic=a");
    expect_ready(a);
    expect_ready(b);
    EXPECT_EQ(metric_value(http(d.port(), "GET", "/metrics").body, "ssehub_streams_open"), 2);
  }
  EXPECT_TRUE(eventually(
      [&] {
        return metric_value(http(d.port(), "GET", "/metrics").body, "ssehub_streams_open") == 0;
      },
      3000ms));
  auto health = json::parse(http(d.port(), "GET", "/health").body);
  EXPECT_EQ(health["topics"], 0);
}

TEST(Stream, PublishBeforeReadyIsNotRequiredButAfterReadyIsNeverMissed) {
  Daemon d;
  for (int round = 0; round < 20; ++round) {
    SseStream s(d.port(), "/events?topic=r" + std::to_string(round));
    expect_ready(s);
    auto id = publish_n(d.port(), "r" + std::to_string(round), 1);
    auto e = s.next_non_heartbeat(2000ms);
    ASSERT_TRUE(e) << "round " << round;
    EXPECT_EQ(e->id, id);
  }
}

}  // namespace
}  // namespace ssehub::test
