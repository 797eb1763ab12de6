// The Postgres store under database faults: a paused server (SIGSTOP), a server
// shut down and started again. Replays and publishes fail within their bounds with
// the right signal, nothing is half-written, liveness holds, and everything
// recovers without restarting ssehub.
#include <gtest/gtest.h>

#include <signal.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "pg_test_support.hpp"

namespace ssehub::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Opens a stream with `last_id` and returns the first event after `ready`.
std::optional<SseEvent> first_after_ready(std::uint16_t port, const std::string& last_id,
                                          Ms timeout = 10000ms) {
  SseStream s(port, "/events?topic=a", {{"Last-Event-ID", last_id}});
  if (!open_ready(s)) return std::nullopt;
  return s.next_non_heartbeat(timeout);
}

// Publishes two events on topic a and checks that `live` receives them.
std::vector<std::string> publish_and_see(std::uint16_t port, SseStream& live) {
  auto ids = publish(port, R"([{"topic":"a","data":1},{"topic":"a","data":2}])");
  for (const auto& id : ids) {
    auto e = live.next_non_heartbeat();
    if (!e || e->id != id) {
      ADD_FAILURE() << "live stream did not receive " << id;
      return {};
    }
  }
  return ids;
}

// Opens `live` and sees two events through it: the daemon works before the fault.
std::vector<std::string> open_and_see(std::uint16_t port, SseStream& live) {
  if (!open_ready(live)) {
    ADD_FAILURE() << "the stream did not open";
    return {};
  }
  return publish_and_see(port, live);
}

// Replays and publishes that give up after these many milliseconds.
Env timeouts(int replay_ms, int publish_ms) {
  return {{"SSEHUB_REPLAY_TIMEOUT_MS", std::to_string(replay_ms)},
          {"SSEHUB_STORE_PUBLISH_TIMEOUT_MS", std::to_string(publish_ms)}};
}

struct Resumed {
  PostgresServer& pg;
  ~Resumed() { pg.resume(); }
};

using PostgresFaults = PostgresTest;

TEST_F(PostgresFaults, PausedDatabaseTimesOutReplayAndPublishWithinBounds) {
  Daemon d(pg_env(timeouts(1000, 1500)));
  SseStream live(d.port(), "/events?topic=a");
  auto ids = open_and_see(d.port(), live);
  ASSERT_EQ(ids.size(), 2u);

  pg().pause();
  Resumed guard{pg()};
  auto t0 = Clock::now();
  SseStream s(d.port(), "/events?topic=a", {{"Last-Event-ID", ids[0]}});
  ASSERT_TRUE(open_ready(s));
  auto f = s.next_non_heartbeat(10000ms);
  auto took = ms_since(t0);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, "replay-failed");
  EXPECT_FALSE(f->id);
  EXPECT_EQ(json::parse(f->data)["reason"], "timeout");
  EXPECT_GE(took, 900);
  EXPECT_LE(took, 1000 + 1000);

  t0 = Clock::now();
  auto p = http(d.port(), "POST", "/publish", R"({"topic":"a","data":"lost?"})",
                {{"Content-Type", "application/json"}}, 10000ms);
  took = ms_since(t0);
  EXPECT_EQ(p.status, 503);
  EXPECT_EQ(json::parse(p.body)["error"], "store_unavailable");
  EXPECT_GE(took, 1400);
  EXPECT_LE(took, 1500 + 1000);

  EXPECT_EQ(http(d.port(), "GET", "/health/live").status, 200);
  EXPECT_TRUE(
      eventually([&] { return http(d.port(), "GET", "/health/ready").status == 503; }, 6000ms));
  // Both streams stay open: heartbeats still come.
  auto hb = live.next(2000ms);
  ASSERT_TRUE(hb);
  EXPECT_EQ(hb->type, "heartbeat");
  auto hb2 = s.next(2000ms);
  ASSERT_TRUE(hb2);
  EXPECT_EQ(hb2->type, "heartbeat");

  pg().resume();
  // Nothing of the timed-out publish was written.
  EXPECT_EQ(scalar("SELECT count(*) FROM ssehub_events"), "2");
  EXPECT_EQ(scalar("SELECT head_seq FROM ssehub_meta"), std::to_string(seq_of(ids[1])));
  std::vector<std::string> next;
  ASSERT_TRUE(eventually(
      [&] {
        next = publish(d.port(), R"({"topic":"a","data":3})");
        return next.size() == 1;
      },
      10000ms));
  // Live delivery continues on both streams, in order.
  for (SseStream* st : {&live, &s}) {
    auto e = st->next_non_heartbeat(5000ms);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->id, next[0]);
  }
  EXPECT_TRUE(
      eventually([&] { return http(d.port(), "GET", "/health/ready").status == 200; }, 6000ms));
  auto again = first_after_ready(d.port(), ids[0]);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, ids[1]);
}

TEST_F(PostgresFaults, DatabaseDownThenBackRecoversWithoutRestart) {
  Daemon d(pg_env(timeouts(2000, 2000)));
  SseStream live(d.port(), "/events?topic=a");
  auto ids = open_and_see(d.port(), live);
  ASSERT_EQ(ids.size(), 2u);

  pg().stop();
  auto f = first_after_ready(d.port(), ids[0]);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, "replay-failed");
  EXPECT_EQ(json::parse(f->data)["reason"], "unavailable");

  auto t0 = Clock::now();
  auto p = http(d.port(), "POST", "/publish", R"({"topic":"a","data":"x"})",
                {{"Content-Type", "application/json"}}, 10000ms);
  EXPECT_EQ(p.status, 503);
  EXPECT_EQ(json::parse(p.body)["error"], "store_unavailable");
  EXPECT_FALSE(json::parse(p.body)["detail"].get<std::string>().empty());
  EXPECT_EQ(p.headers["retry-after"], "5");
  EXPECT_LE(ms_since(t0), 2000 + 1000);

  EXPECT_EQ(http(d.port(), "GET", "/health/live").status, 200);
  HttpResponse ready;
  ASSERT_TRUE(eventually(
      [&] {
        ready = http(d.port(), "GET", "/health/ready");
        return ready.status == 503;
      },
      5000ms));
  auto body = json::parse(ready.body);
  EXPECT_EQ(body["store"]["connected"], false);
  EXPECT_FALSE(body["store"]["lastError"].is_null());

  pg().start();
  std::vector<std::string> next;
  ASSERT_TRUE(eventually(
      [&] {
        next = publish(d.port(), R"({"topic":"a","data":3})");
        return next.size() == 1;
      },
      15000ms));
  EXPECT_EQ(seq_of(next[0]), seq_of(ids[1]) + 1);
  // The stream held through the outage gets the new event once the follower is back.
  auto e = live.next_non_heartbeat(10000ms);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, next[0]);
  auto r = first_after_ready(d.port(), ids[0]);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, ids[1]);
  EXPECT_TRUE(
      eventually([&] { return http(d.port(), "GET", "/health/ready").status == 200; }, 6000ms));
}

TEST_F(PostgresFaults, KilledDatabaseRestartedLosesNoCommittedEvent) {
  Daemon d(pg_env());
  auto ids = publish(d.port(), R"([{"topic":"a","data":1},{"topic":"a","data":2}])");
  ASSERT_EQ(ids.size(), 2u);
  pg().kill_hard();
  pg().start();
  std::vector<std::string> next;
  ASSERT_TRUE(eventually(
      [&] {
        next = publish(d.port(), R"({"topic":"a","data":3})");
        return next.size() == 1;
      },
      15000ms))
      << d.log();
  SseStream s(d.port(), "/events?topic=a", {{"Last-Event-ID", epoch_of(ids[0]) + "-0"}});
  ASSERT_TRUE(open_ready(s));
  for (const auto& want : {ids[0], ids[1], next[0]}) {
    auto e = s.next_non_heartbeat();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->id, want);
  }
}

// Sends SIGCONT on scope exit, so a failed assertion leaves nothing stopped.
class FollowerFaults : public PostgresTest {
 protected:
  // A daemon on the log follower with a live stream on topic a that received two
  // events, then the follower's Postgres backend SIGSTOPped (continued at the end).
  void start_then_stop_follower() {
    d_.emplace(pg_env());
    s_.emplace(d_->port(), "/events?topic=a");
    ASSERT_TRUE(open_ready(*s_));
    ASSERT_EQ(publish_and_see(d_->port(), *s_).size(), 2u);
    auto rows = pg().query(db_,
                           "SELECT pid FROM pg_stat_activity WHERE application_name = "
                           "'ssehub-follow' AND datname = '" +
                               db_ + "'");
    ASSERT_EQ(rows.size(), 1u);
    backend_ = std::stoi(rows[0][0]);
    ASSERT_EQ(::kill(backend_, SIGSTOP), 0);
  }
  void TearDown() override {
    if (backend_ > 0) ::kill(backend_, SIGCONT);
  }
  std::optional<Daemon> d_;
  std::optional<SseStream> s_;
  pid_t backend_ = -1;
};

// Regression: the log follower's call to a stopped backend never returned, so
// the replica delivered nothing and stayed ready for as long as the stall lasted.
TEST_F(FollowerFaults, StalledFollowerBackendIsLeftBehindAndDeliveryGoesOn) {
  ASSERT_NO_FATAL_FAILURE(start_then_stop_follower());
  Daemon& d = *d_;
  SseStream& s = *s_;
  const pid_t backend = backend_;
  const auto t0 = Clock::now();
  // Live delivery goes on through a new connection while the old backend stays stopped.
  ASSERT_EQ(publish_and_see(d.port(), s).size(), 2u) << tail(d.log());
  EXPECT_LE(ms_since(t0), 2000 + 5000);  // the follower's call deadline, then a reconnect
  EXPECT_EQ(proc_stat(backend).state, 'T');
  auto m = http(d.port(), "GET", "/metrics").body;
  EXPECT_GE(metric_value(m, "ssehub_log_follower_reconnects_total"), 1);
  EXPECT_NE(d.log().find("postgres log follower lost its connection"), std::string::npos);

  // While no connection can be had either, the follower cannot follow: not ready.
  pg().pause();
  Resumed resumed{pg()};
  EXPECT_TRUE(eventually(
      [&] {
        auto r = http(d.port(), "GET", "/health/ready");
        return r.status == 503 && json::parse(r.body)["bus"]["state"] == "reconnecting";
      },
      12000ms))
      << http(d.port(), "GET", "/health/ready").body;
}

// Retention deletes events a stalled follower had not read yet: reading on from
// where it was would skip them without a word. The stream is told instead.
TEST_F(FollowerFaults, EventsPrunedBeforeTheFollowerReadThemAreSignalledNotSkipped) {
  ASSERT_NO_FATAL_FAILURE(start_then_stop_follower());
  Daemon& d = *d_;
  SseStream& s = *s_;
  auto ids = publish(d.port(), R"([{"topic":"a","data":3},{"topic":"a","data":4}])");
  ASSERT_EQ(ids.size(), 2u);
  const std::string last = std::to_string(seq_of(ids.back()));
  pg().query(db_, "WITH gone AS (DELETE FROM ssehub_events WHERE seq <= " + last +
                      " RETURNING 1) UPDATE ssehub_horizon SET pruned_through = " + last +
                      " WHERE id = 1");
  // The follower gives up on the stopped backend, reconnects, and finds the gap.
  auto e = s.next_non_heartbeat(10000ms);
  ASSERT_TRUE(e) << tail(d.log());
  EXPECT_EQ(e->type, "replay-truncated");
  EXPECT_EQ(e->id, ids.back());
  ASSERT_EQ(publish_and_see(d.port(), s).size(), 2u);
  auto m = http(d.port(), "GET", "/metrics").body;
  EXPECT_EQ(metric_value(m, "ssehub_log_follower_gaps_total"), 1);
}

}  // namespace
}  // namespace ssehub::test
