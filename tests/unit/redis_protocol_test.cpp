#include "ssehub/redis_protocol.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ssehub::redis {
namespace {

TEST(RedisUrl, ParsesHostPortPasswordAndDb) {
  auto e = std::get<Endpoint>(parse_url("redis://127.0.0.1:6380"));
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, 6380);
  EXPECT_EQ(e.password, "");
  EXPECT_EQ(e.db, 0);
  e = std::get<Endpoint>(parse_url("redis://:s3cret@cache.internal/2"));
  EXPECT_EQ(e.host, "cache.internal");
  EXPECT_EQ(e.port, 6379);
  EXPECT_EQ(e.password, "s3cret");
  EXPECT_EQ(e.db, 2);
  e = std::get<Endpoint>(parse_url("redis://user:pw@[::1]:7000"));
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 7000);
  EXPECT_EQ(e.password, "pw");
}

TEST(RedisUrl, RefusesWhatItCannotUse) {
  for (const char* bad : {"http://h:1", "redis://", "redis://h:0", "redis://h:99999", "redis://h:x",
                          "redis://h/db", "redis://[::1", "redis://:pw@"}) {
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_url(bad))) << bad;
  }
}

TEST(RedisChannels, NamesAndTopicsRoundTrip) {
  EXPECT_EQ(topic_channel("ssehub", "orders"), "ssehub:topic:orders");
  EXPECT_EQ(heads_channel("p"), "p:heads");
  EXPECT_EQ(sentinel_channel("p", "host-12"), "p:sentinel:host-12");
  EXPECT_EQ(channel_topic("p", "p:topic:a:b"), "a:b");
  EXPECT_FALSE(channel_topic("p", "p:topic:"));
  EXPECT_FALSE(channel_topic("p", "p:heads"));
  EXPECT_FALSE(channel_topic("p", "q:topic:a"));
}

TEST(RedisMessage, EventRoundTripsWithDataSplicedVerbatim) {
  Event ev{"ab12-42", 42, "orders", "created", R"({"id":42,"s":"x\ny"})"};
  std::string msg = encode_event(ev);
  auto j = nlohmann::json::parse(msg);
  EXPECT_EQ(j["data"]["s"], "x\ny");
  std::string err;
  auto back = decode_event(msg, err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(back->id, ev.id);
  EXPECT_EQ(back->seq, 42u);
  EXPECT_EQ(back->topic, "orders");
  EXPECT_EQ(back->type, "created");
  EXPECT_EQ(nlohmann::json::parse(back->data), nlohmann::json::parse(ev.data));
}

TEST(RedisMessage, MalformedEventsAreRefusedWithAReason) {
  const char* bad[] = {
      "",
      "[]",
      "{",
      R"({"id":"a-1","seq":1,"topic":"t","type":"x"})",
      R"({"id":"a-1","seq":2,"topic":"t","type":"x","data":0})",
      R"({"id":"nope","seq":1,"topic":"t","type":"x","data":0})",
      R"({"id":"a-1","seq":1,"topic":"bad topic","type":"x","data":0})",
      R"({"id":"a-1","seq":1,"topic":"t","type":"a\nb","data":0})",
      R"({"id":"a-1","seq":-1,"topic":"t","type":"x","data":0})",
  };
  for (const char* m : bad) {
    std::string err;
    EXPECT_FALSE(decode_event(m, err)) << m;
    EXPECT_FALSE(err.empty()) << m;
  }
}

TEST(RedisMessage, HeadsNoticeRoundTripsAndRejectsNonsense) {
  auto h = decode_heads(encode_heads({10, 15}));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->base, 10u);
  EXPECT_EQ(h->head, 15u);
  EXPECT_FALSE(decode_heads(R"({"base":5,"head":4})"));
  EXPECT_FALSE(decode_heads(R"({"base":"5","head":6})"));
  EXPECT_FALSE(decode_heads("x"));
}

}  // namespace
}  // namespace ssehub::redis
