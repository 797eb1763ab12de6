#include "core/sse_frame.hpp"

#include <gtest/gtest.h>

namespace ssehub {
namespace {

TEST(SseFrame, EventWithIdTypeAndData) {
  EXPECT_EQ(encode_event("e-1", "order", R"({"a":1})"),
            "id: e-1\nevent: order\ndata: {\"a\":1}\n\n");
}

TEST(SseFrame, NamesTheTopicInAFieldEventSourceIgnores) {
  EXPECT_EQ(encode_event("e-1", "order", "{}", "orders"),
            "id: e-1\nevent: order\ntopic: orders\ndata: {}\n\n");
  EXPECT_EQ(encode_event("e-1", "order", "{}", "a\nb"),
            "id: e-1\nevent: order\ntopic: ab\ndata: {}\n\n");
}

TEST(SseFrame, OmitsIdWhenEmpty) {
  EXPECT_EQ(encode_event("", "heartbeat", "{}"), "event: heartbeat\ndata: {}\n\n");
}

TEST(SseFrame, SplitsDataOnLfCrAndCrlf) {
  EXPECT_EQ(encode_event("", "", "a\nb\rc\r\nd"), "data: a\ndata: b\ndata: c\ndata: d\n\n");
}

TEST(SseFrame, KeepsEmptyLinesOfData) {
  EXPECT_EQ(encode_event("", "", "a\n\nb"), "data: a\ndata: \ndata: b\n\n");
  EXPECT_EQ(encode_event("", "", "a\n"), "data: a\ndata: \n\n");
  EXPECT_EQ(encode_event("", "", "\r\n"), "data: \ndata: \n\n");
}

TEST(SseFrame, LineBreaksCannotEscapeIdOrType) {
  EXPECT_EQ(encode_event("e-1\ndata: x", "t\r\nid: 9", "d"),
            "id: e-1data: x\nevent: tid: 9\ndata: d\n\n");
}

TEST(SseFrame, RetryAndComment) {
  EXPECT_EQ(encode_retry(2500), "retry: 2500\n\n");
  EXPECT_EQ(encode_comment("hi\nthere"), ": hithere\n\n");
}

}  // namespace
}  // namespace ssehub
