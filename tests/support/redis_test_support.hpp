#pragma once
// The fixture of the Redis bus tests: a real Redis beside the test's Postgres
// database, and daemons configured for both.

#include <string>

#include "pg_test_support.hpp"
#include "redis_server.hpp"

namespace ssehub::test {

class RedisTest : public PostgresTest {
 protected:
  // bus.kind redis on this test's Redis; the sentinel probes every 1000 ms and
  // allows sentinel_timeout_ms for the round trip (short, for tests).
  Env redis_env(const Env& extra = {}) const {
    Env env = pg_env({{"SSEHUB_BUS_KIND", "redis"},
                      {"SSEHUB_BUS_REDIS_URL", redis_.url()},
                      {"SSEHUB_BUS_SENTINEL_INTERVAL_MS", "1000"},
                      {"SSEHUB_BUS_SENTINEL_TIMEOUT_MS", std::to_string(sentinel_timeout_ms)}});
    for (const auto& [k, v] : extra) env[k] = v;
    return env;
  }
  static bool ready(const Daemon& d) {
    return http(d.port(), "GET", "/health/ready").status == 200;
  }

  int sentinel_timeout_ms = 1000;
  RedisServer redis_;
};

}  // namespace ssehub::test
