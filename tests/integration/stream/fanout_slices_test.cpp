// Fan-out in slices against the real daemon: a publisher never waits for it, and
// one that outruns it is refused, never silently dropped.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace ssehub::test {
namespace {

using json = nlohmann::json;

// The stream's next event of type "t" (skipping control events), or nullopt
// once it ends or stays quiet for 5 s.
std::optional<SseEvent> next_event(SseStream& s) {
  std::optional<SseEvent> e;
  do {
    e = s.next_non_heartbeat(5000ms);
  } while (e && e->type != "t");
  return e;
}

// One reactor thread fanning out one stream per handler to 300 streams: a pass
// takes hundreds of handlers, so publishes arrive while it runs. Past
// stream.max_fanout_backlog events waiting, a publish gets 503 fanout_backlog
// (nothing stored); every accepted event reaches a stream, in order; once the
// fan-out caught up, publishing works again.
TEST(FanoutSlices, APublisherThatOutrunsTheFanOutIsToldToBackOffAndLosesNothingAccepted) {
  Daemon d(Env{{"SSEHUB_SERVER_THREADS", "1"},
               {"SSEHUB_STREAM_FANOUT_SLICE", "1"},
               {"SSEHUB_STREAM_MAX_FANOUT_BACKLOG", "150"},
               {"SSEHUB_STREAM_QUEUE_LIMIT_BYTES", "67108864"},
               {"SSEHUB_STORE_MEMORY_CAPACITY", "1000000"}});
  SseStream checker(d.port(), "/events?topic=flood");
  ASSERT_EQ(checker.read_head(), 200);
  auto others = open_streams(d.port(), "/events?topic=flood", 300);
  ASSERT_EQ(others.size(), 300u);
  json batch = json::array();
  for (int i = 0; i < 100; ++i) batch.push_back({{"topic", "flood"}, {"type", "t"}, {"data", i}});
  const std::string body = batch.dump();
  std::vector<std::string> accepted;
  HttpResponse refused;
  for (int round = 0; round < 200 && refused.status == 0; ++round) {
    auto r = http(d.port(), "POST", "/publish", body, {{"Content-Type", "application/json"}});
    if (r.status == 201) {
      const json answer = json::parse(r.body);
      for (const auto& id : answer["ids"]) accepted.push_back(id);
    } else {
      refused = r;
    }
  }
  ASSERT_EQ(refused.status, 503) << "no publish was refused in 200 tries";
  ASSERT_FALSE(accepted.empty()) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["error"], "fanout_backlog") << refused.body;
  EXPECT_EQ(refused.headers["retry-after"], "5");
  // Every accepted event, in order; then, once the fan-out caught up, a publish
  // is accepted again and its first event follows the last accepted one: the
  // refused batch was never stored.
  std::vector<std::string> got;
  while (got.size() < accepted.size()) {
    auto e = checker.next_non_heartbeat(10000ms);
    ASSERT_TRUE(e) << "received " << got.size() << " of " << accepted.size();
    if (e->type == "t") got.push_back(e->id.value_or(""));
  }
  EXPECT_EQ(got, accepted);
  std::vector<std::string> later;
  ASSERT_TRUE(eventually(
      [&] {
        later = publish(d.port(), body);
        return !later.empty();
      },
      10000ms));
  EXPECT_EQ(seq_of(later.front()), seq_of(accepted.back()) + 1);
  auto next = checker.next_non_heartbeat(10000ms);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id.value_or(""), later.front());
  EXPECT_GE(
      metric_value(http(d.port(), "GET", "/metrics").body, "ssehub_publish_backlog_refusals_total"),
      1);
}

// A publish acknowledged just before SIGTERM reaches every stream before the
// drain ends it, although its pass takes hundreds of handlers: the drain waits
// for a running fan-out.
TEST(FanoutSlices, AnEventAcknowledgedBeforeTheDrainReachesEveryStreamFirst) {
  Daemon d(Env{{"SSEHUB_SERVER_THREADS", "1"},
               {"SSEHUB_STREAM_FANOUT_SLICE", "1"},
               {"SSEHUB_SERVER_DRAIN_TIMEOUT_MS", "3000"}});
  auto streams = open_streams(d.port(), "/events?topic=last", 300);
  ASSERT_EQ(streams.size(), 300u);
  auto ids = publish(d.port(), R"([{"topic":"last","type":"t","data":1}])");
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(d.stop(SIGTERM), 0);
  for (std::size_t i = 0; i < streams.size(); ++i) {
    auto e = next_event(*streams[i]);
    ASSERT_TRUE(e) << "stream " << i << " of " << streams.size()
                   << " ended without the acknowledged event";
    EXPECT_EQ(e->id.value_or(""), ids[0]);
  }
}

// Heartbeat rounds that last longer than their interval (one stream per slice,
// 2,000 streams, 10 ms between heartbeats) follow each other without a break;
// events still get their share of the slices and arrive.
TEST(FanoutSlices, EventsStillArriveWhileHeartbeatRoundsRunBackToBack) {
  Daemon d(Env{{"SSEHUB_SERVER_THREADS", "1"},
               {"SSEHUB_STREAM_FANOUT_SLICE", "1"},
               {"SSEHUB_STREAM_HEARTBEAT_MS", "10"}});
  auto quiet = open_streams(d.port(), "/events?topic=quiet", 2000);
  ASSERT_EQ(quiet.size(), 2000u);
  SseStream s(d.port(), "/events?topic=news");
  ASSERT_EQ(s.read_head(), 200);
  for (int i = 0; i < 5; ++i) {
    auto ids = publish(d.port(), R"([{"topic":"news","type":"t","data":1}])");
    ASSERT_EQ(ids.size(), 1u);
    auto e = next_event(s);
    ASSERT_TRUE(e) << "event " << i << " did not arrive while heartbeats ran";
    EXPECT_EQ(e->id.value_or(""), ids[0]);
  }
}

}  // namespace
}  // namespace ssehub::test
