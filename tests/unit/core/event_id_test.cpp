#include "core/event_id.hpp"

#include <gtest/gtest.h>

namespace ssehub {
namespace {

TEST(EventId, FormatsAndParsesRoundTrip) {
  EXPECT_EQ(format_event_id("ab12", 42), "ab12-42");
  auto id = parse_event_id("ab12-42");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->epoch, "ab12");
  EXPECT_EQ(id->seq, 42u);
  EXPECT_EQ(id->str(), "ab12-42");
}

TEST(EventId, AcceptsExtremes) {
  EXPECT_TRUE(parse_event_id("a-0"));
  auto max = parse_event_id("Z9-9223372036854775807");
  ASSERT_TRUE(max);
  EXPECT_EQ(max->seq, kMaxSeq);
  EXPECT_TRUE(parse_event_id("abcdefghijklmnop-1"));  // 16-char epoch
}

TEST(EventId, RejectsEverythingElse) {
  for (const char* bad : {"", "-", "abc", "abc-", "-12", "ab-1x", "ab-+1", "ab- 1", "ab-1 ",
                          "a_b-1", "ab-18446744073709551616", "abcdefghijklmnopq-1", "ab-1-2",
                          "ab-999999999999999999999", "é-1", "ab--1",
                          // No store can hold a seq past a bigint.
                          "ab-9223372036854775808", "ab-18446744073709551615"}) {
    EXPECT_FALSE(parse_event_id(bad)) << bad;
  }
}

TEST(LastEventId, HeaderWinsOverQuery) {
  auto r = resolve_last_event_id(std::string_view("e-5"), std::string_view("e-9"));
  ASSERT_EQ(r.kind, LastEventId::Kind::id);
  EXPECT_EQ(r.id.seq, 5u);
}

TEST(LastEventId, EmptyHeaderFallsBackToQuery) {
  auto r = resolve_last_event_id(std::string_view(""), std::string_view("e-9"));
  ASSERT_EQ(r.kind, LastEventId::Kind::id);
  EXPECT_EQ(r.id.seq, 9u);
}

TEST(LastEventId, AbsentMeansNoReplay) {
  EXPECT_FALSE(resolve_last_event_id(std::nullopt, std::nullopt).present());
  EXPECT_FALSE(resolve_last_event_id(std::string_view(""), std::string_view("")).present());
}

TEST(LastEventId, GarbageIsMalformedAndEchoIsBounded) {
  std::string huge(500, 'x');
  auto r = resolve_last_event_id(std::string_view(huge), std::nullopt);
  EXPECT_EQ(r.kind, LastEventId::Kind::malformed);
  EXPECT_EQ(r.raw.size(), LastEventId::kMaxEchoedChars);
}

}  // namespace
}  // namespace ssehub
