// Bad input and limits against the real daemon: every error has its status and a
// JSON body, and the daemon stays up and keeps delivering.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace ssehub::test {
namespace {

using json = nlohmann::json;

struct BadRequest {
  std::string name;
  std::string raw;  // full request bytes
  int status;
  std::string code;
};

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra + "\r\n";
}

std::string post(const std::string& target, const std::string& body,
                 const std::string& type = "application/json") {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(Errors, TableOfBadRequests) {
  Daemon d(Env{{"SSEHUB_STREAM_MAX_TOPICS", "2"}});
  SseStream watcher(d.port(), "/events?topic=a");
  ASSERT_EQ(watcher.read_head(), 200);

  json too_many = json::array();
  for (int i = 0; i < 1001; ++i) too_many.push_back({{"topic", "a"}, {"type", "t"}, {"data", i}});
  std::vector<BadRequest> table = {
      {"no topic", get("/events"), 400, "missing_topic"},
      {"bad topic", get("/events?topic=a%20b"), 400, "bad_topic"},
      {"long topic", get("/events?topic=" + std::string(201, 'a')), 400, "bad_topic"},
      {"too many topics", get("/events?topic=a&topic=b&topic=c"), 400, "too_many_topics"},
      {"unknown parameter", get("/events?topic=a&color=red"), 400, "unknown_parameter"},
      {"bad escape", get("/events?topic=%zz"), 400, "bad_query"},
      {"unknown path", get("/nope"), 404, "not_found"},
      {"post to events", post("/events", "{}"), 405, "method_not_allowed"},
      {"get publish", get("/publish"), 405, "method_not_allowed"},
      {"delete health", "DELETE /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405,
       "method_not_allowed"},
      {"not json type", post("/publish", "{}", "text/plain"), 415, "unsupported_media_type"},
      {"no content type", "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", 415,
       "unsupported_media_type"},
      {"broken json", post("/publish", "{\"topic\":"), 400, "bad_json"},
      {"bad event topic", post("/publish", R"({"topic":"","type":"t","data":1})"), 400,
       "bad_topic"},
      {"bad type", post("/publish", R"({"topic":"a","type":"a\nb","data":1})"), 400, "bad_type"},
      {"missing data", post("/publish", R"({"topic":"a","type":"t"})"), 400, "bad_data"},
      {"empty batch", post("/publish", "[]"), 400, "empty_batch"},
      {"batch too large", post("/publish", too_many.dump()), 413, "batch_too_large"},
      {"body too large", post("/publish", std::string(1024 * 1024 + 10, ' ')), 413,
       "body_too_large"},
      {"head too large", get("/events?topic=a", "X-Big: " + std::string(9000, 'x') + "\r\n"), 431,
       "header_too_large"},
      {"uri too long", get("/events?topic=a&x=" + std::string(5000, 'x')), 414, "uri_too_long"},
      {"garbage request line", "HELLO\r\n\r\n", 400, "bad_request"},
      {"bad version", "GET / HTTP/9\r\n\r\n", 400, "bad_request"},
  };
  for (auto& t : table) {
    auto r = raw_request(d.port(), t.raw);
    EXPECT_EQ(r.status, t.status) << t.name;
    EXPECT_EQ(r.headers["content-type"], "application/json") << t.name;
    json body = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << t.name << ": " << r.body;
    EXPECT_EQ(body["error"], t.code) << t.name;
    EXPECT_TRUE(body["detail"].is_string()) << t.name;
    if (t.status == 405) {
      EXPECT_FALSE(r.headers["allow"].empty()) << t.name;
    }
  }
  // Still up, still delivering.
  EXPECT_TRUE(d.running());
  auto ids = publish(d.port(), R"({"topic":"a","type":"t","data":1})");
  ASSERT_EQ(ids.size(), 1u);
  auto ready = watcher.next_non_heartbeat();
  auto e = watcher.next_non_heartbeat();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, ids[0]);
  auto metrics = http(d.port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("ssehub_http_errors_total{status=\"431\"} 1"), std::string::npos);
}

TEST(Errors, RequestLimitsAreConfigurable) {
  Daemon d(Env{{"SSEHUB_SERVER_MAX_URL_BYTES", "300"},
               {"SSEHUB_SERVER_MAX_REQUEST_HEAD_BYTES", "2048"},
               {"SSEHUB_SERVER_MAX_BODY_BYTES", "1024"},
               {"SSEHUB_SERVER_MAX_PUBLISH_BATCH", "2"},
               {"SSEHUB_SERVER_REQUEST_TIMEOUT_MS", "300"}});
  EXPECT_EQ(http(d.port(), "GET", "/events?topic=a&x=" + std::string(400, 'x')).status, 414);
  EXPECT_EQ(http(d.port(), "GET", "/events?topic=a&x=" + std::string(200, 'x')).status, 400);
  EXPECT_EQ(http(d.port(), "GET", "/health", "", {{"X-Big", std::string(3000, 'b')}}).status, 431);
  EXPECT_EQ(http(d.port(), "POST", "/publish",
                 R"({"topic":"a","type":"t","data":")" + std::string(2000, 'd') + R"("})")
                .status,
            413);
  std::string three = R"([{"topic":"a","data":1},{"topic":"a","data":2},{"topic":"a","data":3}])";
  auto r = http(d.port(), "POST", "/publish", three);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(json::parse(r.body)["error"], "batch_too_large");
  // A request head that never completes is closed after request_timeout_ms.
  int fd = connect_loopback(d.port());
  ASSERT_GE(fd, 0);
  std::string partial = "GET /events?topic=a HTTP/1.1\r\nHost: x\r\n";
  ::send(fd, partial.data(), partial.size(), 0);
  auto start = std::chrono::steady_clock::now();
  char buf[64];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);  // blocks until the daemon closes
  EXPECT_LE(n, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3000ms);
  ::close(fd);
  EXPECT_GE(metric_value(http(d.port(), "GET", "/metrics").body, "ssehub_request_timeouts_total"),
            1);
}

TEST(Errors, KeepAliveServesSeveralRequestsOnOneConnection) {
  Daemon d;
  std::string two =
      "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  int fd = connect_loopback(d.port());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, two.data(), two.size(), 0), static_cast<ssize_t>(two.size()));
  std::string all;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) all.append(buf, n);
  ::close(fd);
  std::size_t count = 0;
  for (auto p = all.find("HTTP/1.1 200"); p != std::string::npos;
       p = all.find("HTTP/1.1 200", p + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 2u) << all;
}

TEST(Errors, SlowRequestHeadIsNotAStream) {
  Daemon d;
  int fd = connect_loopback(d.port());
  ASSERT_GE(fd, 0);
  std::string partial = "GET /events?topic=a HTTP/1.1\r\nHost: x\r\n";  // never finished
  ::send(fd, partial.data(), partial.size(), 0);
  EXPECT_EQ(metric_value(http(d.port(), "GET", "/metrics").body, "ssehub_streams_open"), 0);
  ::close(fd);
}

TEST(Errors, MaxConnectionsAnswers503WithRetryAfter) {
  Daemon d(Env{{"SSEHUB_SERVER_MAX_CONNECTIONS", "3"}});
  SseStream a(d.port(), "/events?topic=a");
  SseStream b(d.port(), "/events?topic=a");
  SseStream c(d.port(), "/events?topic=a");
  ASSERT_EQ(a.read_head(), 200);
  ASSERT_EQ(b.read_head(), 200);
  ASSERT_EQ(c.read_head(), 200);
  auto r = http(d.port(), "GET", "/events?topic=a");
  EXPECT_EQ(r.status, 503);
  EXPECT_FALSE(r.headers["retry-after"].empty());
  EXPECT_EQ(json::parse(r.body)["error"], "at_capacity");
  // Probes and scrapes are still answered when the replica is full.
  EXPECT_EQ(http(d.port(), "GET", "/health/live").status, 200);
  auto ready = http(d.port(), "GET", "/health/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(json::parse(ready.body)["status"], "ready");
  EXPECT_EQ(http(d.port(), "GET", "/metrics").status, 200);
  a.close_socket();
  EXPECT_TRUE(eventually([&] { return http(d.port(), "GET", "/health/live").status == 200; }));
}

TEST(Errors, StalledReaderIsCutOffWhileFastReaderGetsEverything) {
  Daemon d(Env{{"SSEHUB_STREAM_QUEUE_LIMIT_BYTES", "262144"}});
  SseStream slow(d.port(), "/events?topic=big");
  int small = 4096;
  setsockopt(slow.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ASSERT_EQ(slow.read_head(), 200);
  SseStream fast(d.port(), "/events?topic=big");
  ASSERT_EQ(fast.read_head(), 200);
  ASSERT_EQ(fast.next()->type, "ready");

  // Far more than the kernel's socket buffers hold, in batches under the queue limit.
  const std::string payload(16000, 'x');
  std::vector<std::string> ids;
  for (int i = 0; i < 60; ++i) {
    json batch = json::array();
    for (int j = 0; j < 10; ++j)
      batch.push_back({{"topic", "big"}, {"type", "t"}, {"data", payload}});
    auto got = publish(d.port(), batch.dump());
    ASSERT_EQ(got.size(), 10u);
    ids.insert(ids.end(), got.begin(), got.end());
    // The fast reader keeps up; the slow one never reads.
    for (std::size_t k = ids.size() - 10; k < ids.size(); ++k) {
      auto e = fast.next_non_heartbeat();
      ASSERT_TRUE(e) << "event " << k;
      EXPECT_EQ(e->id, ids[k]);
    }
  }
  EXPECT_TRUE(eventually([&] {
    return metric_value(http(d.port(), "GET", "/metrics").body,
                        "ssehub_slow_consumer_disconnects_total") == 1;
  }));
  EXPECT_NE(d.log().find("closing slow consumer"), std::string::npos);
  EXPECT_NE(d.log().find("reason=slow consumer"), std::string::npos);
}

// A burst larger than the queue limit in one go (one big batch, or a replay with
// the live events held meanwhile) is written to the socket before it counts: a
// reader that keeps up is not closed as a slow consumer.
TEST(Errors, AFastReaderSurvivesABurstLargerThanItsQueue) {
  Daemon d(Env{{"SSEHUB_STREAM_QUEUE_LIMIT_BYTES", "16384"}});
  SseStream fast(d.port(), "/events?topic=burst");
  ASSERT_TRUE(fast.read_head() == 200 && fast.next());
  json batch = json::array();
  for (int j = 0; j < 64; ++j) {
    batch.push_back({{"topic", "burst"}, {"type", "t"}, {"data", std::string(1000, 'x')}});
  }
  auto ids = publish(d.port(), batch.dump());  // 64 KB at once, four times the queue
  ASSERT_EQ(ids.size(), 64u);
  for (const auto& id : ids) {
    auto e = fast.next_non_heartbeat();
    ASSERT_TRUE(e) << id << "\n" << d.log();
    EXPECT_EQ(e->id, id);
  }
  // The same burst as a replay from the first id, with more live events behind it.
  SseStream replaying(d.port(), "/events?topic=burst", {{"Last-Event-ID", ids.front()}});
  // Fast means its socket takes the burst even while this process is not
  // scheduled (a loaded machine): 128 KB of replay and live events at once.
  int roomy = 1 << 20;
  setsockopt(replaying.fd(), SOL_SOCKET, SO_RCVBUF, &roomy, sizeof roomy);
  ASSERT_EQ(replaying.read_head(), 200);
  // What the replay answers (here a replay-truncated: the burst is past the
  // queue) is queued whole: once it is here the stream is live, and what follows
  // is not held (events held during a replay have their own bound, the queue
  // limit, tested elsewhere).
  ASSERT_TRUE(replaying.next());  // ready
  auto answer = replaying.next_non_heartbeat();
  ASSERT_TRUE(answer) << d.log();
  auto more = publish(d.port(), batch.dump());
  ASSERT_EQ(more.size(), 64u);
  bool last_seen = false;
  while (auto e = replaying.next_non_heartbeat(3000ms)) {
    if ((last_seen = e->id && *e->id == more.back())) break;
  }
  EXPECT_TRUE(last_seen) << d.log();
  EXPECT_FALSE(replaying.closed());
  EXPECT_EQ(metric_value(http(d.port(), "GET", "/metrics").body,
                         "ssehub_slow_consumer_disconnects_total"),
            0);
}

TEST(Errors, EventsLargerThanAStreamQueueAreRefusedAndBigReplaysTruncate) {
  Daemon d(Env{{"SSEHUB_STREAM_QUEUE_LIMIT_BYTES", "4096"}});
  auto big = http(d.port(), "POST", "/publish",
                  R"({"topic":"a","type":"t","data":")" + std::string(5000, 'x') + R"("})");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(json::parse(big.body)["error"], "event_too_large");
  // 3,001 bytes compact, but 4,500 as jsonb gives it back: refused too.
  std::string zeros = "[0";
  for (int i = 0; i < 1499; ++i) zeros += ",0";
  zeros += "]";
  auto spread =
      http(d.port(), "POST", "/publish", R"({"topic":"a","type":"t","data":)" + zeros + "}");
  EXPECT_EQ(spread.status, 413) << spread.body;
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    auto got =
        publish(d.port(), R"({"topic":"a","type":"t","data":")" + std::string(1000, 'y') + R"("})");
    ASSERT_EQ(got.size(), 1u);
    ids.push_back(got[0]);
  }
  // Ten 1 KB events do not fit a 4 KiB queue: one replay-truncated, no reconnect loop.
  SseStream s(d.port(), "/events?topic=a", {{"Last-Event-ID", ids[0]}});
  ASSERT_EQ(s.read_head(), 200);
  ASSERT_TRUE(s.next());  // ready
  auto t = s.next_non_heartbeat();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, "replay-truncated");
  EXPECT_EQ(t->id, ids.back());
  EXPECT_EQ(json::parse(t->data)["reason"], "limit");
  EXPECT_FALSE(s.closed());
}

TEST(Errors, DeeplyNestedJsonIsRefusedAndTheDaemonStaysUp) {
  Daemon d;
  std::string body = R"({"topic":"a","type":"t","data":)" + std::string(400000, '[') +
                     std::string(400000, ']') + "}";
  auto r = http(d.port(), "POST", "/publish", body);
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(d.running());
  EXPECT_EQ(http(d.port(), "GET", "/health/live").status, 200);
}

TEST(Errors, HealthAndMetricsEndpoints) {
  Daemon d;
  auto live = http(d.port(), "GET", "/health/live");
  EXPECT_EQ(live.status, 200);
  auto ready = http(d.port(), "GET", "/health/ready");
  EXPECT_EQ(ready.status, 200);
  auto body = json::parse(ready.body);
  EXPECT_EQ(body["status"], "ready");
  EXPECT_EQ(body["store"]["kind"], "memory");
  EXPECT_EQ(body["bus"]["kind"], "local");
  EXPECT_EQ(body["draining"], false);
  EXPECT_EQ(json::parse(http(d.port(), "GET", "/health").body)["status"], "ready");
  auto head = raw_request(
      d.port(), "HEAD /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1000ms);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"],
            std::to_string(std::string(R"({"status":"live"})").size()));
  publish(d.port(), R"({"topic":"a","type":"t","data":1})");
  auto m = http(d.port(), "GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.headers["content-type"].find("text/plain"), std::string::npos);
  for (const char* name :
       {"ssehub_streams_open", "ssehub_connections_total", "ssehub_events_published_total",
        "ssehub_event_deliveries_total", "ssehub_slow_consumer_disconnects_total",
        "ssehub_bytes_written_total"}) {
    EXPECT_GE(metric_value(m.body, name), 0) << name;
  }
  EXPECT_EQ(metric_value(m.body, "ssehub_events_published_total"), 1);
  EXPECT_NE(m.body.find("ssehub_replay_outcomes_total{outcome=\"truncated\",reason=\"limit\"}"),
            std::string::npos);
}

TEST(Errors, CorsAllowsListedOriginsOnly) {
  Daemon d(Env{{"SSEHUB_SERVER_CORS_ORIGINS", "http://app.example"}});
  SseStream ok(d.port(), "/events?topic=a", {{"Origin", "http://app.example"}});
  ASSERT_EQ(ok.read_head(), 200);
  EXPECT_EQ(ok.headers().at("access-control-allow-origin"), "http://app.example");
  EXPECT_EQ(ok.headers().at("access-control-allow-credentials"), "true");
  SseStream other(d.port(), "/events?topic=a", {{"Origin", "http://evil.example"}});
  ASSERT_EQ(other.read_head(), 200);
  EXPECT_EQ(other.headers().count("access-control-allow-origin"), 0u);
  auto pre = http(d.port(), "OPTIONS", "/publish", "",
                  {{"Origin", "http://app.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_NE(pre.headers["access-control-allow-methods"].find("POST"), std::string::npos);
  auto denied = http(d.port(), "OPTIONS", "/publish", "", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(denied.status, 403);
}

}  // namespace
}  // namespace ssehub::test
