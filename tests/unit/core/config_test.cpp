#include "core/config.hpp"

#include <gtest/gtest.h>

namespace ssehub {
namespace {

std::string error_key(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.key();
  }
  return "<no error>";
}

TEST(Config, DefaultsMatchTheDocumentedOnes) {
  Config c;
  EXPECT_EQ(c.server.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.stream.heartbeat_ms, 15000u);
  EXPECT_EQ(c.replay.limit, 1000u);
  EXPECT_EQ(c.store.kind, "memory");
  EXPECT_EQ(c.bus.kind, "local");
  EXPECT_EQ(c.bus.sentinel_interval_ms, 30000u);
  EXPECT_EQ(c.bus.sentinel_timeout_ms, 5000u);
  EXPECT_NO_THROW(validate(c));
}

TEST(Config, JsonFileSetsValues) {
  Config c;
  apply_json(c, R"({"server":{"listen":"127.0.0.1:9000","cors_origins":["https://a.example"]},
                    "replay":{"limit":5}, "log":{"format":"json"}})");
  EXPECT_EQ(c.server.listen, "127.0.0.1:9000");
  EXPECT_EQ(c.server.cors_origins, std::vector<std::string>{"https://a.example"});
  EXPECT_EQ(c.replay.limit, 5u);
  EXPECT_EQ(c.log.format, "json");
}

TEST(Config, EnvironmentOverridesFile) {
  Config c;
  apply_json(c, R"({"replay":{"limit":5}})");
  apply_environment(c, {{"SSEHUB_REPLAY_LIMIT", "7"},
                        {"SSEHUB_STORE_POSTGRES_URL", "postgresql://x/y"},
                        {"SSEHUB_SERVER_CORS_ORIGINS", "https://a.example, https://b.example"},
                        {"UNRELATED", "1"},
                        {"SSEHUB_TESTING_THING", "ignored: not a section"}});
  EXPECT_EQ(c.replay.limit, 7u);
  EXPECT_EQ(c.store.postgres_url, "postgresql://x/y");
  EXPECT_EQ(c.server.cors_origins,
            (std::vector<std::string>{"https://a.example", "https://b.example"}));
}

TEST(Config, InvalidValuesNameTheKey) {
  Config c;
  EXPECT_EQ(error_key([&] { apply_json(c, R"({"replay":{"limit":"ten"}})"); }), "replay.limit");
  EXPECT_EQ(error_key([&] { apply_json(c, R"({"replay":{"limit":-1}})"); }), "replay.limit");
  EXPECT_EQ(error_key([&] { apply_json(c, R"({"replay":{"limit":0}})"); }), "replay.limit");
  EXPECT_EQ(error_key([&] { apply_json(c, R"({"store":{"kind":"mongo"}})"); }), "store.kind");
  EXPECT_EQ(error_key([&] { apply_json(c, R"({"store":{"colour":"red"}})"); }), "store.colour");
  EXPECT_EQ(error_key([&] { apply_json(c, R"({"nosuch":{}})"); }), "nosuch");
  EXPECT_EQ(error_key([&] { apply_json(c, R"({"server":{"cors_origins":"x"}})"); }),
            "server.cors_origins");
  EXPECT_EQ(error_key([&] { apply_json(c, R"({"log":{"level":3}})"); }), "log.level");
  EXPECT_EQ(error_key([&] { apply_json(c, "{not json"); }), "");
}

TEST(Config, InvalidEnvironmentNamesTheVariable) {
  Config c;
  auto key = error_key([&] { apply_environment(c, {{"SSEHUB_REPLAY_LIMIT", "-3"}}); });
  EXPECT_NE(key.find("SSEHUB_REPLAY_LIMIT"), std::string::npos);
  EXPECT_NE(key.find("replay.limit"), std::string::npos);
  key = error_key([&] { apply_environment(c, {{"SSEHUB_REPLAY_LIMT", "3"}}); });
  EXPECT_EQ(key, "SSEHUB_REPLAY_LIMT");
  key = error_key([&] { apply_environment(c, {{"SSEHUB_STREAM_HEARTBEAT_MS", "1e3"}}); });
  EXPECT_NE(key.find("SSEHUB_STREAM_HEARTBEAT_MS"), std::string::npos);
}

TEST(Config, ListenAddresses) {
  auto a = parse_listen("127.0.0.1:8080");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 8080);
  auto b = parse_listen("[::1]:0");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 0);
  for (const char* bad :
       {"", "8080", "host", ":80", "h:", "h:99999", "h:8x", "[::1]80", "::1:80"}) {
    EXPECT_EQ(error_key([&] { parse_listen(bad); }), "server.listen") << bad;
  }
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
}

TEST(Config, CrossFieldRules) {
  Config c;
  c.store.kind = "postgres";
  EXPECT_EQ(error_key([&] { validate(c); }), "store.postgres_url");
  c = Config{};
  c.bus.kind = "redis";
  EXPECT_EQ(error_key([&] { validate(c); }), "bus.redis_url");
  c = Config{};
  c.server.cors_origins = {"*"};
  EXPECT_EQ(error_key([&] { validate(c); }), "server.cors_origins");
  c = Config{};
  c.server.listen = "nonsense";
  EXPECT_EQ(error_key([&] { validate(c); }), "server.listen");
}

TEST(Config, HelpDescribesEveryKey) {
  std::string text = describe_keys();
  for (const char* k : {"server.listen", "stream.queue_limit_bytes", "replay.max_concurrent",
                        "store.retention_hours", "bus.sentinel_timeout_ms", "auth.audience",
                        "log.format", "SSEHUB_STORE_POSTGRES_URL"}) {
    EXPECT_NE(text.find(k), std::string::npos) << k;
  }
}

}  // namespace
}  // namespace ssehub

namespace ssehub {
namespace {

TEST(Config, ExampleFileLoadsAndHoldsTheDefaults) {
  Config loaded = load_config(SSEHUB_SOURCE_DIR "/config/ssehub.example.json", {});
  Config defaults;
  EXPECT_EQ(loaded.server.listen, defaults.server.listen);
  EXPECT_EQ(loaded.server.max_connections, defaults.server.max_connections);
  EXPECT_EQ(loaded.stream.heartbeat_ms, defaults.stream.heartbeat_ms);
  EXPECT_EQ(loaded.stream.retry_jitter_ms, defaults.stream.retry_jitter_ms);
  EXPECT_EQ(loaded.stream.queue_limit_bytes, defaults.stream.queue_limit_bytes);
  EXPECT_EQ(loaded.replay.limit, defaults.replay.limit);
  EXPECT_EQ(loaded.replay.max_concurrent, defaults.replay.max_concurrent);
  EXPECT_EQ(loaded.store.memory_capacity, defaults.store.memory_capacity);
  EXPECT_EQ(loaded.bus.sentinel_interval_ms, defaults.bus.sentinel_interval_ms);
  EXPECT_EQ(loaded.log.format, defaults.log.format);
  EXPECT_EQ(loaded.server.max_request_head_bytes, 8192u);
  EXPECT_EQ(loaded.server.max_url_bytes, 4096u);
  EXPECT_EQ(loaded.server.max_body_bytes, 1048576u);
  EXPECT_EQ(loaded.server.max_publish_batch, 1000u);
  EXPECT_EQ(loaded.server.request_timeout_ms, 10000u);
}

}  // namespace
}  // namespace ssehub

namespace ssehub {
namespace {

TEST(Config, KubernetesServiceLinksAreNotTypos) {
  Config c;
  EXPECT_NO_THROW(apply_environment(c, {{"SSEHUB_SERVER_SERVICE_HOST", "10.0.0.1"},
                                        {"SSEHUB_SERVER_SERVICE_PORT", "8080"},
                                        {"SSEHUB_SERVER_PORT_8080_TCP", "tcp://10.0.0.1:8080"}}));
}

TEST(Config, OutOfRangeNumbersAreConfigErrors) {
  Config c;
  EXPECT_THROW(apply_json(c, R"({"replay":{"limit":1e400}})"), ConfigError);
}

}  // namespace
}  // namespace ssehub
