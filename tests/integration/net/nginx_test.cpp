// ssehub behind nginx running the repository's docker/nginx.conf: events pass
// through unbuffered, a stream whose replica dies ends, and its reconnect with
// Last-Event-ID replays the missed events on another replica.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nginx_server.hpp"
#include "pg_test_support.hpp"
#include "redis_server.hpp"

namespace ssehub::test {
namespace {

using Clock = std::chrono::steady_clock;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "-<pid>", the end of the `replica` a daemon names in `ready`.
std::string pid_suffix(const Daemon& d) {
  return "-" + std::to_string(d.pid());
}

// Reads the head and `ready`; returns the `replica` it names, "" (with a failure) otherwise.
std::string open_ready_replica(SseStream& s) {
  const int status = s.read_head();
  EXPECT_EQ(status, 200);
  if (status != 200) return "";
  auto ready = s.next_non_heartbeat();
  EXPECT_TRUE(ready && ready->type == "ready");
  if (!ready || ready->type != "ready") return "";
  return nlohmann::json::parse(ready->data).value("replica", "");
}

std::string event_body(int n) {
  return R"({"topic":"orders","type":"created","data":)" + std::to_string(n) + "}";
}

TEST(Nginx, EventsPassThroughWithoutBuffering) {
  Daemon d;
  NginxServer nginx({d.port()});
  SseStream s(nginx.port(), "/events?topic=orders");
  ASSERT_EQ(s.read_head(), 200) << nginx.log();
  auto type = s.headers().find("content-type");
  ASSERT_NE(type, s.headers().end());
  EXPECT_EQ(type->second, "text/event-stream");
  // The stream reaches the client as ssehub wrote it, ended by closing the connection
  // (the parser here reads raw bytes, so chunk framing would also break it).
  EXPECT_EQ(s.headers().count("transfer-encoding"), 0u);
  auto ready = s.next_non_heartbeat();
  ASSERT_TRUE(ready && ready->type == "ready");

  Ms slowest{0};
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    auto ids = publish(nginx.port(), event_body(i));
    ASSERT_EQ(ids.size(), 1u) << nginx.log();
    auto e = s.next_non_heartbeat(2000ms);
    ASSERT_TRUE(e) << "event " << i << " did not come through nginx within 2 s\n" << nginx.log();
    EXPECT_EQ(e->id, ids[0]);
    slowest = std::max(slowest, std::chrono::duration_cast<Ms>(Clock::now() - start));
  }
  // A few milliseconds on loopback. A buffering proxy holds small events until its
  // buffer fills or the stream ends, far beyond this bound.
  EXPECT_LT(slowest.count(), 500) << nginx.log();
}

TEST(Nginx, StreamOpenedWhileAReplicaDrainsLandsOnAnother) {
  const Env env{{"SSEHUB_SERVER_DRAIN_TIMEOUT_MS", "3000"}};
  Daemon a(env), b(env);
  NginxServer nginx({a.port(), b.port()});
  SseStream s(nginx.port(), "/events?topic=orders");
  const std::string first = open_ready_replica(s);
  ASSERT_TRUE(ends_with(first, pid_suffix(a)) || ends_with(first, pid_suffix(b))) << first;
  Daemon& draining = ends_with(first, pid_suffix(a)) ? a : b;
  Daemon& other = &draining == &a ? b : a;

  ::kill(draining.pid(), SIGTERM);
  // Wait until it drains (503) or is gone (no answer), so that no new stream reaches
  // it before the signal does.
  ASSERT_TRUE(eventually(
      [&] { return http(draining.port(), "GET", "/health/ready", "", {}, 500ms).status != 200; }));
  // The draining replica answers new streams 503 (or, once it has exited, refuses
  // the connection); nginx tries the other replica, so no client sees either.
  for (int i = 0; i < 4; ++i) {
    SseStream next(nginx.port(), "/events?topic=orders");
    EXPECT_TRUE(ends_with(open_ready_replica(next), pid_suffix(other))) << nginx.log();
  }
  // The stream on the draining replica ends within the drain window.
  EXPECT_TRUE(s.wait_closed(5000ms)) << nginx.log();
  EXPECT_EQ(draining.stop(SIGTERM), 0);
}

// Two replicas as in docker/compose.yaml: the Postgres store and the Redis bus.
class NginxReplicas : public PostgresTest {
 protected:
  Env replica_env() {
    return pg_env({{"SSEHUB_BUS_KIND", "redis"}, {"SSEHUB_BUS_REDIS_URL", redis_.url()}});
  }
  RedisServer redis_;
};

TEST_F(NginxReplicas, StreamOnAKilledReplicaResumesOnAnotherWithLastEventId) {
  Daemon a(replica_env()), b(replica_env());
  NginxServer nginx({a.port(), b.port()});
  SseStream s(nginx.port(), "/events?topic=orders");
  const std::string first = open_ready_replica(s);
  ASSERT_TRUE(ends_with(first, pid_suffix(a)) || ends_with(first, pid_suffix(b))) << first;
  Daemon& victim = ends_with(first, pid_suffix(a)) ? a : b;
  Daemon& survivor = &victim == &a ? b : a;
  const std::string survivor_suffix = pid_suffix(survivor);

  std::string last;
  for (int i = 0; i < 3; ++i) {
    auto ids = publish(nginx.port(), event_body(i));
    ASSERT_EQ(ids.size(), 1u) << nginx.log();
    auto e = s.next_non_heartbeat(3000ms);
    ASSERT_TRUE(e) << "event " << i << " not received";
    ASSERT_EQ(e->id, ids[0]);
    last = *e->id;
  }

  ASSERT_EQ(victim.stop(SIGKILL), 128 + SIGKILL);
  // nginx passes the end of the replica's response on as the end of the stream.
  EXPECT_TRUE(s.wait_closed(3000ms)) << nginx.log();

  // nginx may try the dead replica first: the connection is refused, so the publish
  // never reached it and nginx sends it to the other one.
  std::vector<std::string> missed;
  for (int i = 3; i < 6; ++i) {
    auto ids = publish(nginx.port(), event_body(i));
    ASSERT_EQ(ids.size(), 1u) << nginx.log();
    missed.push_back(ids[0]);
  }

  SseStream again(nginx.port(), "/events?topic=orders", {{"Last-Event-ID", last}});
  const std::string second = open_ready_replica(again);
  EXPECT_TRUE(ends_with(second, survivor_suffix)) << second << "\n" << nginx.log();
  for (const auto& id : missed) {
    auto e = again.next_non_heartbeat(3000ms);
    ASSERT_TRUE(e) << "replay is missing " << id;
    EXPECT_EQ(e->type, "created");
    EXPECT_EQ(e->id, id);
  }
  // Exactly the missed events: nothing the first stream already had, nothing twice.
  auto extra = again.next_non_heartbeat(500ms);
  EXPECT_FALSE(extra) << "unexpected " << extra->type << " " << extra->id.value_or("");
}

}  // namespace
}  // namespace ssehub::test
