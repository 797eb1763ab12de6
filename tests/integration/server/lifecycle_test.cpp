// Start-up, configuration errors and graceful shutdown of the real daemon.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "test_support.hpp"

namespace ssehub::test {
namespace {

TEST(Lifecycle, HelpAndVersion) {
  std::string out;
  EXPECT_EQ(run_binary({"--help"}, {}, out), 0);
  EXPECT_NE(out.find("--config"), std::string::npos);
  EXPECT_NE(out.find("SSEHUB_REPLAY_LIMIT"), std::string::npos);
  EXPECT_EQ(run_binary({"--version"}, {}, out), 0);
  EXPECT_NE(out.find("ssehub 0."), std::string::npos);
}

TEST(Lifecycle, InvalidConfigurationStopsStartUpNamingTheKey) {
  struct Case {
    std::map<std::string, std::string> env;
    std::string key;
  };
  std::vector<Case> cases = {
      {{{"SSEHUB_REPLAY_LIMIT", "-1"}}, "replay.limit"},
      {{{"SSEHUB_STREAM_HEARTBEAT_MS", "soon"}}, "stream.heartbeat_ms"},
      {{{"SSEHUB_STORE_KIND", "mongo"}}, "store.kind"},
      {{{"SSEHUB_SERVER_LISTEN", "not-an-address"}}, "server.listen"},
      {{{"SSEHUB_SERVER_LISTEN", "127.0.0.1:70000"}}, "server.listen"},
      {{{"SSEHUB_REPLAY_LIMT", "5"}}, "SSEHUB_REPLAY_LIMT"},
      {{{"SSEHUB_LOG_FORMAT", "xml"}}, "log.format"},
  };
  for (auto& c : cases) {
    std::string out;
    EXPECT_EQ(run_binary({}, c.env, out), 2) << c.key;
    EXPECT_NE(out.find(c.key), std::string::npos) << out;
  }
}

TEST(Lifecycle, ConfigFileIsReadAndUnknownKeysRefused) {
  std::string path = "/tmp/ssehub-test-config-" + std::to_string(getpid()) + ".json";
  {
    std::ofstream f(path);
    f << R"({"server":{"listen":"127.0.0.1:0"},"stream":{"heartbeat_ms":1234}})";
  }
  {
    Daemon d({}, {"--config", path});
    SseStream s(d.port(), "/events?topic=a");
    ASSERT_EQ(s.read_head(), 200);
    auto ready = s.next();
    ASSERT_TRUE(ready);
    EXPECT_EQ(nlohmann::json::parse(ready->data)["heartbeatMs"], 1234);
  }
  {
    std::ofstream f(path);
    f << R"({"stream":{"heartbeat":5}})";
  }
  std::string out;
  EXPECT_EQ(run_binary({"--config", path}, {}, out), 2);
  EXPECT_NE(out.find("stream.heartbeat"), std::string::npos) << out;
  EXPECT_EQ(run_binary({"--config", "/nonexistent.json"}, {}, out), 2);
  ::unlink(path.c_str());
}

TEST(Lifecycle, DevTokenNeedsASecret) {
  std::string out;
  EXPECT_EQ(run_binary({"token", "--sub", "a"}, {}, out), 2);
  EXPECT_NE(out.find("auth.jwt_secret"), std::string::npos) << out;
  EXPECT_EQ(run_binary({"token", "--sub", "a", "--ttl", "soon"},
                       {{"SSEHUB_AUTH_JWT_SECRET", "0123456789abcdef0123"}}, out),
            2);
}

TEST(Lifecycle, NoAuthIsRefusedOnANonLoopbackAddress) {
  std::string out;
  EXPECT_EQ(run_binary({}, {{"SSEHUB_SERVER_LISTEN", "0.0.0.0:0"}}, out), 2);
  EXPECT_NE(out.find("auth.mode"), std::string::npos) << out;
}

TEST(Lifecycle, LogsOpenFilesCapacityAndJsonFormat) {
  Daemon d(Env{{"SSEHUB_LOG_FORMAT", "json"}});
  EXPECT_TRUE(eventually([&] { return d.log().find("can hold") != std::string::npos; }));
  std::string first = d.log().substr(0, d.log().find('\n'));
  auto j = nlohmann::json::parse(first);
  EXPECT_EQ(j["level"], "info");
  EXPECT_TRUE(j["msg"].is_string());
}

TEST(Lifecycle, StreamLogLinesNeverHoldTheQueryString) {
  Daemon d;
  {
    SseStream s(d.port(), "/events?topic=a&access_token=SECRET123");
    ASSERT_EQ(s.read_head(), 200);
    s.next();
  }
  EXPECT_TRUE(eventually([&] { return d.log().find("stream close") != std::string::npos; }));
  std::string log = d.log();
  EXPECT_EQ(log.find("SECRET123"), std::string::npos);
  EXPECT_NE(log.find("duration_ms="), std::string::npos);
  EXPECT_NE(log.find("events="), std::string::npos);
  EXPECT_NE(log.find("reason=client closed"), std::string::npos);
}

TEST(Lifecycle, SigtermDrainsStreamsWithJitteredRetryAndExitsZero) {
  Daemon d(Env{{"SSEHUB_SERVER_DRAIN_TIMEOUT_MS", "2000"},
               {"SSEHUB_STREAM_RETRY_MS", "1000"},
               {"SSEHUB_STREAM_RETRY_JITTER_MS", "5000"}});
  std::vector<std::unique_ptr<SseStream>> streams;
  for (int i = 0; i < 8; ++i) {
    streams.push_back(std::make_unique<SseStream>(d.port(), "/events?topic=a"));
    ASSERT_EQ(streams.back()->read_head(), 200);
    ASSERT_TRUE(streams.back()->next());
  }
  auto start = std::chrono::steady_clock::now();
  kill(d.pid(), SIGTERM);
  // Readiness fails and new streams are refused while draining.
  EXPECT_TRUE(
      eventually([&] { return http(d.port(), "GET", "/health/ready").status == 503; }, 1000ms));
  auto refused = http(d.port(), "GET", "/events?topic=a");
  if (refused.status != 0) {  // the drain may already have finished
    EXPECT_EQ(refused.status, 503);
    EXPECT_FALSE(refused.headers["retry-after"].empty());
  }
  std::set<std::uint64_t> final_retries;
  for (auto& s : streams) {
    EXPECT_TRUE(s->wait_closed(3000ms));
    ASSERT_EQ(s->retries().size(), 2u);  // the first at open, the second at drain
    EXPECT_GE(s->retries()[1], 1000u);
    EXPECT_LE(s->retries()[1], 6000u);
    final_retries.insert(s->retries()[1]);
  }
  EXPECT_GT(final_retries.size(), 1u);  // jittered, not all the same
  EXPECT_EQ(d.stop(0, 5000ms), 0);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 2500ms);
}

TEST(Lifecycle, SigtermWithNoStreamsExitsPromptly) {
  Daemon d(Env{{"SSEHUB_SERVER_DRAIN_TIMEOUT_MS", "5000"}});
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(d.stop(SIGTERM, 5000ms), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
}

}  // namespace
}  // namespace ssehub::test
