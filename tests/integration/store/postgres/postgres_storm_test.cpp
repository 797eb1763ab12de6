// Reconnect storms against the Postgres store: thousands of clients reconnect at
// once with old ids. At most replay.max_concurrent replay queries may run at any
// time (checked from the database side, in pg_stat_activity), and every client
// gets its events or a signal within the replay deadline, never a hang.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "pg_test_support.hpp"

namespace ssehub::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kTopics = 10, kPerTopic = 100;

// Publishes kPerTopic events on each of kTopics topics; returns the ids per topic.
std::vector<std::vector<std::string>> fill(std::uint16_t port) {
  std::vector<std::vector<std::string>> ids(kTopics);
  for (int round = 0; round < kPerTopic / 10; ++round) {
    json batch = json::array();
    for (int i = 0; i < 10 * kTopics; ++i) {
      batch.push_back({{"topic", "t" + std::to_string(i % kTopics)}, {"data", i}});
    }
    auto got = publish(port, batch.dump());
    EXPECT_EQ(got.size(), batch.size());
    for (std::size_t i = 0; i < got.size(); ++i) ids[i % kTopics].push_back(got[i]);
  }
  return ids;
}

// Samples the database's view of the replay pool until destroyed.
class PoolSampler {
 public:
  PoolSampler(PostgresServer& pg, std::string db) : pg_(pg), db_(std::move(db)) {
    thread_ = std::thread([this] { run(); });
  }
  ~PoolSampler() { stop(); }
  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }
  int max_active() const { return max_active_; }
  int max_connections() const { return max_connections_; }
  int samples() const { return samples_; }

 private:
  void run() {
    while (running_) {
      auto rows = pg_.query(
          "postgres",
          "SELECT count(*) FILTER (WHERE state = 'active'), count(*) FROM pg_stat_activity "
          "WHERE application_name = 'ssehub-replay' AND datname = '" +
              db_ + "'");
      max_active_ = std::max(max_active_.load(), std::stoi(rows[0][0]));
      max_connections_ = std::max(max_connections_.load(), std::stoi(rows[0][1]));
      ++samples_;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  PostgresServer& pg_;
  std::string db_;
  std::atomic<bool> running_{true};
  std::atomic<int> max_active_{0}, max_connections_{0}, samples_{0};
  std::thread thread_;
};

struct StormResult {
  int delivered = 0, truncated = 0, busy = 0, other_failure = 0;
  long long last_answer_ms = 0;
};

// `clients` streams open at once, each resuming from a random old id of its topic
// (always with at least one event after it); each answer is checked.
StormResult storm(std::uint16_t port, const std::vector<std::vector<std::string>>& ids, int clients,
                  std::size_t limit, Ms answer_timeout) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  EXPECT_GE(lim.rlim_cur, static_cast<rlim_t>(clients + 100));

  struct Client {
    std::unique_ptr<SseStream> stream;
    int topic = 0;
    std::size_t after = 0;  // index of its Last-Event-ID in ids[topic]
  };
  std::mt19937 rng(7);
  std::vector<Client> cs(clients);
  StormResult r;
  const auto start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    auto& cl = cs[c];
    cl.topic = c % kTopics;
    cl.after = rng() % (kPerTopic - 1);
    cl.stream = std::make_unique<SseStream>(
        port, "/events?topic=t" + std::to_string(cl.topic),
        std::map<std::string, std::string>{{"Last-Event-ID", ids[cl.topic][cl.after]}});
  }
  for (int c = 0; c < clients; ++c) {
    auto& cl = cs[c];
    if (!open_ready(*cl.stream)) {
      ADD_FAILURE() << "client " << c << " got no ready";
      continue;
    }
    auto e = cl.stream->next_non_heartbeat(answer_timeout);
    if (!e) {
      ADD_FAILURE() << "client " << c << " got no answer";
      continue;
    }
    r.last_answer_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    const std::size_t remaining = kPerTopic - 1 - cl.after;
    if (e->type == "replay-truncated") {
      ++r.truncated;
      EXPECT_GT(remaining, limit) << "client " << c;
      EXPECT_EQ(json::parse(e->data)["reason"], "limit");
    } else if (e->type == "replay-failed") {
      json::parse(e->data)["reason"] == "busy" ? ++r.busy : ++r.other_failure;
    } else {
      ++r.delivered;
      EXPECT_LE(remaining, limit) << "client " << c;
      EXPECT_EQ(e->id, ids[cl.topic][cl.after + 1]) << "client " << c;
    }
    cl.stream.reset();
  }
  std::printf(
      "storm of %d: %d delivered, %d truncated, %d busy, %d other failures; last answer "
      "after %lld ms\n",
      clients, r.delivered, r.truncated, r.busy, r.other_failure, r.last_answer_ms);
  return r;
}

using PostgresStorm = PostgresTest;

TEST_F(PostgresStorm, TwoThousandReconnectsAtOnceStayWithinTheReplayPool) {
  constexpr int kClients = 2000, kPool = 4, kLimit = 50, kTimeoutMs = 4000;
  Daemon d(pg_env({{"SSEHUB_REPLAY_MAX_CONCURRENT", std::to_string(kPool)},
                   {"SSEHUB_REPLAY_LIMIT", std::to_string(kLimit)},
                   {"SSEHUB_REPLAY_TIMEOUT_MS", std::to_string(kTimeoutMs)},
                   {"SSEHUB_STREAM_HEARTBEAT_MS", "1000"}}));
  auto ids = fill(d.port());
  for (const auto& topic : ids) ASSERT_EQ(topic.size(), static_cast<std::size_t>(kPerTopic));
  PoolSampler sampler(pg(), db_);
  auto r = storm(d.port(), ids, kClients, kLimit, Ms(kTimeoutMs + 10000));
  sampler.stop();
  std::printf("%d samples: at most %d replay queries active, %d replay connections\n",
              sampler.samples(), sampler.max_active(), sampler.max_connections());
  EXPECT_EQ(r.delivered + r.truncated + r.busy + r.other_failure, kClients);
  EXPECT_GT(r.delivered, 0);
  EXPECT_GT(r.truncated, 0);
  EXPECT_EQ(r.other_failure, 0);
  EXPECT_GT(sampler.samples(), 5);
  EXPECT_LE(sampler.max_active(), kPool);
  EXPECT_LE(sampler.max_connections(), kPool);
  EXPECT_GE(sampler.max_connections(), 1);
  // Every answer came within the replay deadline plus a margin for reading 2,000 streams.
  EXPECT_LE(r.last_answer_ms, kTimeoutMs + 6000);
  EXPECT_EQ(http(d.port(), "GET", "/health/live").status, 200);
}

TEST_F(PostgresStorm, ReplaysThatCannotStartInTimeFailAsBusy) {
  constexpr int kClients = 1000, kTimeoutMs = 100;
  Daemon d(pg_env({{"SSEHUB_REPLAY_MAX_CONCURRENT", "1"},
                   {"SSEHUB_REPLAY_LIMIT", "1000"},
                   {"SSEHUB_REPLAY_TIMEOUT_MS", std::to_string(kTimeoutMs)},
                   {"SSEHUB_STREAM_HEARTBEAT_MS", "1000"}}));
  auto ids = fill(d.port());
  for (const auto& topic : ids) ASSERT_EQ(topic.size(), static_cast<std::size_t>(kPerTopic));
  auto r = storm(d.port(), ids, kClients, 1000, 10000ms);
  EXPECT_EQ(r.delivered + r.busy + r.other_failure, kClients);
  EXPECT_GT(r.busy, 0);
  EXPECT_EQ(r.truncated, 0);
  auto m = http(d.port(), "GET", "/metrics");
  EXPECT_EQ(metric_value(m.body, "ssehub_postgres_replays_busy_total"), r.busy);
  EXPECT_EQ(http(d.port(), "GET", "/health/live").status, 200);
}

}  // namespace
}  // namespace ssehub::test
