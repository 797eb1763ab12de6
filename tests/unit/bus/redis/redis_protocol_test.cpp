#include "bus/redis/redis_protocol.hpp"

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
  EXPECT_EQ(e.username, "user");
  EXPECT_EQ(e.password, "pw");
}

TEST(RedisUrl, AclUserAndPasswordArePercentDecoded) {
  auto e = std::get<Endpoint>(parse_url("redis://app:p%40ss%3Aw%2Frd%25@cache:6380/1"));
  EXPECT_EQ(e.username, "app");
  EXPECT_EQ(e.password, "p@ss:w/rd%");
  EXPECT_EQ(e.host, "cache");
  EXPECT_EQ(e.port, 6380);
  EXPECT_EQ(e.db, 1);
  // Lower-case hex; '+' is not a space; a colon in the password splits nothing.
  e = std::get<Endpoint>(parse_url("redis://us%65r:a+b%2bc:d@h"));
  EXPECT_EQ(e.username, "user");
  EXPECT_EQ(e.password, "a+b+c:d");
  // An '@' left unencoded in the password still parses (the last '@' ends it).
  e = std::get<Endpoint>(parse_url("redis://app:p@ss@h"));
  EXPECT_EQ(e.username, "app");
  EXPECT_EQ(e.password, "p@ss");
  EXPECT_EQ(e.host, "h");
}

TEST(RedisUrl, UserOnlyOrPasswordOnly) {
  auto e = std::get<Endpoint>(parse_url("redis://reader@h"));
  EXPECT_EQ(e.username, "reader");
  EXPECT_EQ(e.password, "");
  e = std::get<Endpoint>(parse_url("redis://reader:@h"));
  EXPECT_EQ(e.username, "reader");
  EXPECT_EQ(e.password, "");
  e = std::get<Endpoint>(parse_url("redis://:s%20cret@h"));
  EXPECT_EQ(e.username, "");
  EXPECT_EQ(e.password, "s cret");
  e = std::get<Endpoint>(parse_url("redis://:@h"));
  EXPECT_EQ(e.username, "");
  EXPECT_EQ(e.password, "");
}

TEST(RedisUrl, BadPercentEscapesAreRefusedWithoutEchoingTheSecret) {
  for (const char* bad : {"redis://u:secret%zz@h", "redis://u:secret%4@h", "redis://u:secret%@h",
                          "redis://u:secret%g0@h"}) {
    auto r = parse_url(bad);
    ASSERT_TRUE(std::holds_alternative<std::string>(r)) << bad;
    const auto& err = std::get<std::string>(r);
    EXPECT_NE(err.find("password"), std::string::npos) << err;
    EXPECT_NE(err.find("percent"), std::string::npos) << err;
    EXPECT_EQ(err.find("secret"), std::string::npos) << err;
  }
  auto r = parse_url("redis://us%Xer:pw@h");
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_NE(std::get<std::string>(r).find("user"), std::string::npos) << std::get<std::string>(r);
}

TEST(RedisUrl, AuthCommandFollowsTheEndpoint) {
  using Args = std::vector<std::string>;
  auto auth = [](const char* url) { return auth_command(std::get<Endpoint>(parse_url(url))); };
  EXPECT_EQ(auth("redis://app:p%40ss@h"), (Args{"AUTH", "app", "p@ss"}));
  EXPECT_EQ(auth("redis://:pw@h"), (Args{"AUTH", "pw"}));
  // A user without a password: AUTH with an empty one, which a `nopass` user accepts.
  EXPECT_EQ(auth("redis://reader@h"), (Args{"AUTH", "reader", ""}));
  EXPECT_EQ(auth("redis://h"), std::nullopt);
  EXPECT_EQ(auth("redis://:@h"), std::nullopt);
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
