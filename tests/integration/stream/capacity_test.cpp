// Ten thousand concurrent idle streams on one daemon, then one event to all.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace ssehub::test {
namespace {

TEST(Capacity, TenThousandIdleStreamsAreHeldAndAllReceiveAnEvent) {
  constexpr int kStreams = 10000;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  ASSERT_GE(lim.rlim_cur, static_cast<rlim_t>(kStreams + 200)) << "open-files limit too low";

  Daemon d(Env{{"SSEHUB_LOG_LEVEL", "warn"}});
  std::vector<std::unique_ptr<SseStream>> streams;
  streams.reserve(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    // Spread over source addresses so no single address runs out of ports.
    std::string src = "127.0.0." + std::to_string(1 + i % 4);
    streams.push_back(std::make_unique<SseStream>(
        d.port(), "/events?topic=wide", std::map<std::string, std::string>{}, src.c_str()));
    ASSERT_FALSE(streams.back()->closed()) << "connect failed at " << i;
  }
  int ready = 0;
  for (auto& s : streams) {
    if (s->read_head(10000ms) == 200 && s->next(10000ms)) ++ready;
  }
  EXPECT_EQ(ready, kStreams);
  auto metrics = http(d.port(), "GET", "/metrics").body;
  EXPECT_EQ(metric_value(metrics, "ssehub_streams_open"), kStreams);

  auto ids = publish(d.port(), R"({"topic":"wide","type":"t","data":{"hello":"all"}})");
  ASSERT_EQ(ids.size(), 1u);
  int got = 0;
  for (auto& s : streams) {
    auto e = s->next_non_heartbeat(10000ms);
    if (e && e->id == ids[0]) ++got;
  }
  EXPECT_EQ(got, kStreams);
  EXPECT_TRUE(d.running());
  EXPECT_EQ(d.log().find("error"), std::string::npos) << d.log().substr(0, 2000);
}

}  // namespace
}  // namespace ssehub::test
