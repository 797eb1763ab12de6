// The Postgres store against a real server: durable replay across restarts,
// truncation, expiry after pruning, unknown ids, multi-topic order, schema.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "pg_test_support.hpp"

namespace ssehub::test {
namespace {

using json = nlohmann::json;

std::vector<std::string> publish_on(std::uint16_t port, const std::vector<std::string>& topics) {
  json batch = json::array();
  for (std::size_t i = 0; i < topics.size(); ++i) {
    batch.push_back({{"topic", topics[i]}, {"type", "t"}, {"data", {{"i", i}}}});
  }
  auto ids = publish(port, batch.dump());
  EXPECT_EQ(ids.size(), topics.size());
  return ids;
}

// Reads events after `ready` until `n` non-heartbeat events arrived.
std::vector<SseEvent> read_events(SseStream& s, std::size_t n, Ms timeout = 5000ms) {
  std::vector<SseEvent> out;
  while (out.size() < n) {
    auto e = s.next_non_heartbeat(timeout);
    if (!e) break;
    out.push_back(*e);
  }
  return out;
}

using PostgresStore = PostgresTest;

TEST_F(PostgresStore, ReplaysAfterDaemonRestartWithTheSameEpoch) {
  std::vector<std::string> ids;
  {
    Daemon d(pg_env());
    ids = publish_on(d.port(), {"a", "a", "a", "a", "a"});
    ASSERT_EQ(ids.size(), 5u);
    EXPECT_EQ(d.stop(), 0);
  }
  Daemon d(pg_env());
  SseStream s(d.port(), "/events?topic=a", {{"Last-Event-ID", ids[1]}});
  ASSERT_TRUE(open_ready(s));
  auto got = read_events(s, 3);
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(got[i].id, ids[i + 2]);
  EXPECT_EQ(json::parse(got[0].data)["i"], 2);
  // Ids continue after the restart in the same epoch.
  auto more = publish_on(d.port(), {"a"});
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(epoch_of(more[0]), epoch_of(ids[0]));
  EXPECT_EQ(seq_of(more[0]), seq_of(ids[4]) + 1);
  auto live = s.next_non_heartbeat();
  ASSERT_TRUE(live);
  EXPECT_EQ(live->id, more[0]);
  EXPECT_EQ(scalar("SELECT count(*) FROM ssehub_events"), "6");
  EXPECT_EQ(scalar("SELECT max(version) FROM ssehub_schema_version"), "1");
}

TEST_F(PostgresStore, TruncatesPastTheLimitWithTheResumeIdThenGoesLive) {
  Daemon d(pg_env({{"SSEHUB_REPLAY_LIMIT", "3"}}));
  auto ids = publish_on(d.port(), std::vector<std::string>(10, "a"));
  ASSERT_EQ(ids.size(), 10u);
  SseStream s(d.port(), "/events?topic=a", {{"Last-Event-ID", ids[0]}});
  ASSERT_TRUE(open_ready(s));
  expect_limit_truncation(s.next_non_heartbeat(), ids[9], 3, ids[0]);
  auto next = publish_on(d.port(), {"a"});
  auto live = s.next_non_heartbeat();
  ASSERT_TRUE(live);
  EXPECT_EQ(live->id, next[0]);

  // Exactly the limit is delivered, not truncated.
  SseStream s2(d.port(), "/events?topic=a", {{"Last-Event-ID", ids[7]}});
  ASSERT_TRUE(open_ready(s2));
  auto got = read_events(s2, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, ids[8]);
  EXPECT_EQ(got[1].id, ids[9]);
  EXPECT_EQ(got[2].id, next[0]);
}

TEST_F(PostgresStore, ExpiredAfterRetentionPrunesOldEvents) {
  Daemon d(pg_env(
      {{"SSEHUB_STORE_RETENTION_HOURS", "1"}, {"SSEHUB_STORE_RETENTION_INTERVAL_MS", "200"}}));
  auto ids = publish_on(d.port(), {"a", "a", "a", "a", "a"});
  ASSERT_EQ(ids.size(), 5u);
  // The first three are made two hours old; retention must remove exactly those.
  pg().query(db_, "UPDATE ssehub_events SET created_at = now() - interval '2 hours' WHERE seq <= " +
                      std::to_string(seq_of(ids[2])));
  ASSERT_TRUE(eventually(
      [&] {
        return scalar("SELECT pruned_through FROM ssehub_horizon") ==
               std::to_string(seq_of(ids[2]));
      },
      10000ms));
  EXPECT_EQ(scalar("SELECT count(*) FROM ssehub_events"), "2");

  SseStream old(d.port(), "/events?topic=a", {{"Last-Event-ID", ids[0]}});
  ASSERT_TRUE(open_ready(old));
  auto t = old.next_non_heartbeat();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, "replay-truncated");
  EXPECT_EQ(json::parse(t->data)["reason"], "expired");
  EXPECT_EQ(t->id, ids[4]);

  // From the horizon on, nothing is missing: a full replay.
  SseStream edge(d.port(), "/events?topic=a", {{"Last-Event-ID", ids[2]}});
  ASSERT_TRUE(open_ready(edge));
  auto got = read_events(edge, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, ids[3]);
  EXPECT_EQ(got[1].id, ids[4]);
  auto m = http(d.port(), "GET", "/metrics");
  EXPECT_EQ(metric_value(m.body, "ssehub_postgres_pruned_events_total"), 3);
}

TEST_F(PostgresStore, IdsOfAnotherEpochOrBeyondTheHeadAreUnknown) {
  Daemon d(pg_env());
  auto ids = publish_on(d.port(), {"a", "a"});
  ASSERT_EQ(ids.size(), 2u);
  const std::string other = (epoch_of(ids[0]) == "zzzz" ? "yyyy" : "zzzz") + std::string("-1");
  for (const std::string& bad :
       {other, epoch_of(ids[0]) + "-" + std::to_string(seq_of(ids[1]) + 50), std::string("junk")}) {
    SseStream s(d.port(), "/events?topic=a", {{"Last-Event-ID", bad}});
    ASSERT_TRUE(open_ready(s));
    auto t = s.next_non_heartbeat();
    ASSERT_TRUE(t) << bad;
    EXPECT_EQ(t->type, "replay-truncated") << bad;
    EXPECT_EQ(json::parse(t->data)["reason"], "unknown-id") << bad;
    EXPECT_EQ(t->id, ids[1]);
  }
}

// Regression: a seq past what a bigint holds made the replay query fail, and the
// failed replay then skipped every live event up to that seq: the stream was
// muted for good.
TEST_F(PostgresStore, ASeqThatCannotExistIsUnknownAndLiveEventsStillFlow) {
  Daemon d(pg_env());
  auto ids = publish_on(d.port(), {"a"});
  ASSERT_EQ(ids.size(), 1u);
  const std::string epoch = epoch_of(ids[0]);
  for (const std::string& bad : {epoch + "-18446744073709551615", epoch + "-9223372036854775808",
                                 epoch + "-9223372036854775807"}) {
    SseStream s(d.port(), "/events?topic=a", {{"Last-Event-ID", bad}});
    ASSERT_TRUE(open_ready(s));
    auto t = s.next_non_heartbeat();
    ASSERT_TRUE(t) << bad;
    EXPECT_EQ(t->type, "replay-truncated") << bad;
    EXPECT_EQ(json::parse(t->data)["reason"], "unknown-id") << bad;
    auto live = publish_on(d.port(), {"a"});
    ASSERT_EQ(live.size(), 1u);
    auto e = s.next_non_heartbeat(5000ms);
    ASSERT_TRUE(e) << "no live event after Last-Event-ID " << bad;
    EXPECT_EQ(e->id, live[0]) << bad;
  }
}

TEST_F(PostgresStore, MultiTopicReplayIsInIdOrderAndOnlyThoseTopics) {
  Daemon d(pg_env());
  auto first = publish_on(d.port(), {"a"});
  auto ids = publish_on(d.port(), {"b", "c", "a", "b", "a", "c", "c", "b"});
  ASSERT_EQ(ids.size(), 8u);
  SseStream s(d.port(), "/events?topic=a&topic=b", {{"Last-Event-ID", first[0]}});
  ASSERT_TRUE(open_ready(s));
  auto got = read_events(s, 5);
  std::vector<std::string> want = {ids[0], ids[2], ids[3], ids[4], ids[7]};
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i].id, want[i]);
  EXPECT_FALSE(s.next_non_heartbeat(300ms));
}

TEST_F(PostgresStore, DataRoundTripsAsJsonAndHealthReportsPostgres) {
  Daemon d(pg_env());
  auto ids = publish(
      d.port(),
      R"({"topic":"a","type":"created","data":{"s":"line1\nline2","n":[1,2.5,null],"q":"\"x\\y"}})");
  ASSERT_EQ(ids.size(), 1u);
  auto before = publish_on(d.port(), {"a"});
  SseStream s(d.port(), "/events?topic=a",
              {{"Last-Event-ID", epoch_of(ids[0]) + "-" + std::to_string(seq_of(ids[0]) - 1)}});
  ASSERT_TRUE(open_ready(s));
  auto e = s.next_non_heartbeat();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, "created");
  auto data = json::parse(e->data);
  EXPECT_EQ(data["s"], "line1\nline2");
  EXPECT_EQ(data["n"], json::parse("[1,2.5,null]"));
  EXPECT_EQ(data["q"], "\"x\\y");

  auto h = http(d.port(), "GET", "/health");
  ASSERT_EQ(h.status, 200);
  auto body = json::parse(h.body);
  EXPECT_EQ(body["store"]["kind"], "postgres");
  EXPECT_EQ(body["store"]["connected"], true);
  EXPECT_EQ(body["store"]["epoch"], epoch_of(ids[0]));
  EXPECT_TRUE(body["store"]["replayPool"].contains("inUse"));
  EXPECT_EQ(body["bus"]["source"], "postgres-log");
  auto m = http(d.port(), "GET", "/metrics");
  EXPECT_EQ(metric_value(m.body, "ssehub_postgres_up"), 1);
  EXPECT_GE(metric_value(m.body, "ssehub_postgres_commits_total"), 2);
  EXPECT_GE(metric_value(m.body, "ssehub_postgres_commit_batch_size_count"), 2);
  EXPECT_GE(metric_value(m.body, "ssehub_replay_duration_seconds_count"), 1);
}

TEST_F(PostgresStore, NulInDataIsRefusedWithoutFailingOthers) {
  Daemon d(pg_env());
  auto r = http(d.port(), "POST", "/publish", R"({"topic":"a","type":"t","data":"x\u0000y"})",
                {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"], "bad_data");
  EXPECT_EQ(publish_on(d.port(), {"a"}).size(), 1u);
}

// The protocol docs/publishing.md gives services that write events in their own
// transaction: the event is delivered live and replayable like any other.
TEST_F(PostgresStore, EventsWrittenInAnotherServicesTransactionAreDeliveredAndReplayed) {
  Daemon d(pg_env());
  SseStream s(d.port(), "/events?topic=orders");
  ASSERT_TRUE(open_ready(s));
  auto before = publish_on(d.port(), {"orders"});
  auto e0 = s.next_non_heartbeat();
  ASSERT_TRUE(e0);
  ASSERT_EQ(e0->id, before[0]);
  auto rows = pg().query(db_, R"SQL(
BEGIN;
CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY);
INSERT INTO orders VALUES (42);
WITH h AS (UPDATE ssehub_meta SET head_seq = head_seq + 2 WHERE id = 1
           RETURNING head_seq - 2 AS base)
INSERT INTO ssehub_events (seq, topic, type, data)
SELECT h.base + e.n, 'orders', e.type, e.data::jsonb
FROM h, (VALUES (1, 'created', '{"id":42}'), (2, 'paid', '{"id":42}')) AS e(n, type, data);
SELECT pg_notify('ssehub_events', '');
COMMIT;
SELECT epoch || '-' || head_seq FROM ssehub_meta;
)SQL");
  ASSERT_EQ(rows.size(), 1u);
  const std::string last = rows[0][0];
  auto e1 = s.next_non_heartbeat();
  auto e2 = s.next_non_heartbeat();
  ASSERT_TRUE(e1 && e2);
  EXPECT_EQ(e1->type, "created");
  EXPECT_EQ(seq_of(*e1->id), seq_of(before[0]) + 1);
  EXPECT_EQ(e2->type, "paid");
  EXPECT_EQ(e2->id, last);
  // Ids continue after them for publishes through ssehub.
  auto after = publish_on(d.port(), {"orders"});
  EXPECT_EQ(seq_of(after[0]), seq_of(last) + 1);
  SseStream r(d.port(), "/events?topic=orders", {{"Last-Event-ID", before[0]}});
  ASSERT_TRUE(open_ready(r));
  auto got = read_events(r, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, e1->id);
  EXPECT_EQ(got[1].id, last);
  EXPECT_EQ(got[2].id, after[0]);
}

TEST_F(PostgresStore, ReplicasStartingTogetherMigrateOnceAndShareTheEpoch) {
  std::vector<std::unique_ptr<Daemon>> ds(3);
  {
    std::vector<std::thread> starts;
    for (auto& d : ds) starts.emplace_back([&] { d = std::make_unique<Daemon>(pg_env()); });
    for (auto& t : starts) t.join();
  }
  std::set<std::string> epochs;
  for (auto& d : ds) {
    auto ids = publish_on(d->port(), {"a"});
    ASSERT_EQ(ids.size(), 1u);
    epochs.insert(epoch_of(ids[0]));
  }
  EXPECT_EQ(epochs.size(), 1u);
  EXPECT_EQ(scalar("SELECT count(*) FROM ssehub_meta"), "1");
  EXPECT_EQ(scalar("SELECT count(*) FROM ssehub_schema_version"), "1");
}

}  // namespace
}  // namespace ssehub::test
