#include "http/request_parsing.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ssehub {
namespace {

Target target(std::string_view t) {
  auto r = parse_target(t);
  EXPECT_TRUE(std::holds_alternative<Target>(r)) << t;
  return std::get<Target>(r);
}

unsigned status_of(const std::variant<Target, ApiError>& r) {
  return std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r).status : 0;
}

TEST(Target, SplitsAndDecodes) {
  auto t = target("/events?topic=a%3Ab&topic=c+d&x=&lastEventId=e-1");
  EXPECT_EQ(t.path, "/events");
  ASSERT_EQ(t.query.size(), 4u);
  EXPECT_EQ(t.query[0].second, "a:b");
  EXPECT_EQ(t.query[1].second, "c d");
  EXPECT_EQ(t.param("lastEventId"), "e-1");
  EXPECT_FALSE(t.param("nope"));
}

TEST(Target, RejectsMalformed) {
  EXPECT_EQ(status_of(parse_target("/e?topic=%zz")), 400u);
  EXPECT_EQ(status_of(parse_target("/e?topic=%4")), 400u);
  EXPECT_EQ(status_of(parse_target("e")), 400u);
  EXPECT_EQ(status_of(parse_target("")), 400u);
  EXPECT_EQ(status_of(parse_target("/" + std::string(kMaxTargetBytes, 'a'))), 414u);
}

std::variant<EventsRequest, ApiError> events(std::string_view t,
                                             std::optional<std::string_view> header = {}) {
  return parse_events_request(target(t), header, 3);
}

std::string code_of(const std::variant<EventsRequest, ApiError>& r) {
  return std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r).code : "";
}

TEST(EventsRequest, TopicsAndLastEventId) {
  auto r = events("/events?topic=a&topic=b&topic=a&lastEventId=e-3");
  ASSERT_TRUE(std::holds_alternative<EventsRequest>(r));
  auto& req = std::get<EventsRequest>(r);
  EXPECT_EQ(req.topics, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(req.last_event_id.id.seq, 3u);
  auto h = std::get<EventsRequest>(events("/events?topic=a&lastEventId=e-3", "e-8"));
  EXPECT_EQ(h.last_event_id.id.seq, 8u);
}

TEST(EventsRequest, Errors) {
  EXPECT_EQ(code_of(events("/events")), "missing_topic");
  EXPECT_EQ(code_of(events("/events?topic=")), "bad_topic");
  EXPECT_EQ(code_of(events("/events?topic=a%20b")), "bad_topic");
  EXPECT_EQ(code_of(events("/events?topic=a&topic=b&topic=c&topic=d")), "too_many_topics");
  EXPECT_EQ(code_of(events("/events?topic=a&bogus=1")), "unknown_parameter");
}

std::string publish_code(std::string_view body) {
  auto r = parse_publish_body(body);
  return std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r).code : "";
}

TEST(PublishBody, StoredSizeCountsTheSpacesJsonbAddsOutsideStrings) {
  EXPECT_EQ(stored_json_bytes(R"(1)"), 1u);
  EXPECT_EQ(stored_json_bytes(R"({"a":1,"b":[1,2]})"),
            std::string(R"({"a": 1, "b": [1, 2]})").size());
  EXPECT_EQ(stored_json_bytes(R"("x,y:z")"), 7u);       // inside a string
  EXPECT_EQ(stored_json_bytes(R"(["a\",b",1])"), 12u);  // an escaped quote
  EXPECT_EQ(stored_json_bytes(R"(["a\\",1])"), 10u);    // an escaped backslash
}

TEST(PublishBody, OneOrMany) {
  auto one = parse_publish_body(R"({"topic":"a","type":"t","data":{"x":[1,"two"]}})");
  ASSERT_TRUE(std::holds_alternative<std::vector<NewEvent>>(one));
  auto& v = std::get<std::vector<NewEvent>>(one);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].data, R"({"x":[1,"two"]})");
  auto many =
      parse_publish_body(R"([{"topic":"a","type":"t","data":1},{"topic":"b","data":null}])");
  auto& m = std::get<std::vector<NewEvent>>(many);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1].type, "message");
  EXPECT_EQ(m[1].data, "null");
}

TEST(PublishBody, Errors) {
  EXPECT_EQ(publish_code("{"), "bad_json");
  EXPECT_EQ(publish_code("[]"), "empty_batch");
  EXPECT_EQ(publish_code("3"), "bad_event");
  EXPECT_EQ(publish_code(R"({"type":"t","data":1})"), "bad_topic");
  EXPECT_EQ(publish_code(R"({"topic":"a b","type":"t","data":1})"), "bad_topic");
  EXPECT_EQ(publish_code(R"({"topic":"a","type":"","data":1})"), "bad_type");
  EXPECT_EQ(publish_code(R"({"topic":"a","type":"x\ny","data":1})"), "bad_type");
  EXPECT_EQ(publish_code(R"({"topic":"a","type":"heartbeat","data":1})"), "bad_type");
  EXPECT_EQ(publish_code(R"({"topic":"a","type":")" + std::string(101, 't') + R"(","data":1})"),
            "bad_type");
  EXPECT_EQ(publish_code(R"({"topic":"a","type":"t"})"), "bad_data");
  EXPECT_EQ(publish_code(R"({"topic":"a","type":"t","data":1,"extra":2})"), "bad_event");
  nlohmann::json big = nlohmann::json::array();
  for (int i = 0; i < 1001; ++i) big.push_back({{"topic", "a"}, {"type", "t"}, {"data", i}});
  auto r = parse_publish_body(big.dump());
  ASSERT_TRUE(std::holds_alternative<ApiError>(r));
  EXPECT_EQ(std::get<ApiError>(r).status, 413u);
}

TEST(PublishBody, InvalidUtf8IsRejectedNotCrashing) {
  EXPECT_EQ(publish_code("{\"topic\":\"a\",\"type\":\"t\",\"data\":\"\xff\"}"), "bad_json");
}

TEST(ContentType, JsonWithParameters) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("Application/JSON; charset=utf-8"));
  EXPECT_FALSE(is_json_content_type("text/plain"));
  EXPECT_FALSE(is_json_content_type("application/jsonx"));
}

TEST(ErrorBody, IsJsonWithCodeAndDetail) {
  auto j = nlohmann::json::parse(error_body({400, "bad_topic", "topic is empty", {}}));
  EXPECT_EQ(j["error"], "bad_topic");
  EXPECT_EQ(j["detail"], "topic is empty");
}

}  // namespace
}  // namespace ssehub

namespace ssehub {
namespace {

TEST(PublishBody, DeepNestingIsRefusedBeforeItCanExhaustTheStack) {
  std::string deep = R"({"topic":"a","type":"t","data":)" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  auto r = parse_publish_body(deep);
  ASSERT_TRUE(std::holds_alternative<ApiError>(r));
  EXPECT_EQ(std::get<ApiError>(r).code, "bad_json");
  std::string ok =
      R"({"topic":"a","type":"t","data":)" + std::string(60, '[') + std::string(60, ']') + "}";
  EXPECT_TRUE(std::holds_alternative<std::vector<NewEvent>>(parse_publish_body(ok)));
}

TEST(Printable, ReplacesControlCharacters) {
  EXPECT_EQ(printable("a\nb\r\x01z", 64), "a?b??z");
  EXPECT_EQ(printable("abcdef", 3), "abc");
}

TEST(Token, FromHeaderQueryOrCookie) {
  auto t = std::get<Target>(parse_target("/events?topic=a&access_token=Q"));
  EXPECT_EQ(extract_token(std::string_view("Bearer H"), t, std::string_view("ssehub_token=C")),
            "H");
  EXPECT_EQ(extract_token(std::nullopt, t, std::string_view("ssehub_token=C")), "Q");
  auto plain = std::get<Target>(parse_target("/events?topic=a"));
  EXPECT_EQ(extract_token(std::nullopt, plain, std::string_view("x=1; ssehub_token=C; y=2")), "C");
  EXPECT_EQ(extract_token(std::string_view("Basic abc"), plain, std::nullopt), std::nullopt);
  EXPECT_EQ(extract_token(std::nullopt, plain, std::string_view("ssehub_token=")), std::nullopt);
}

}  // namespace
}  // namespace ssehub
