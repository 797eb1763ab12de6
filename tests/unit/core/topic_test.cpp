#include "core/topic.hpp"

#include <gtest/gtest.h>

namespace ssehub {
namespace {

TEST(Topic, AcceptsTheAllowedAlphabet) {
  EXPECT_FALSE(topic_error("user:alice/orders.v1_x-y@z"));
  EXPECT_FALSE(topic_error(std::string(kMaxTopicBytes, 'a')));
}

TEST(Topic, RejectsEmptyLongAndOddCharacters) {
  EXPECT_TRUE(topic_error(""));
  EXPECT_TRUE(topic_error(std::string(kMaxTopicBytes + 1, 'a')));
  for (const char* bad : {"a b", "a*", "a?", "a#", "a\n", "ä", "a%", "a,b", "a\"b"}) {
    EXPECT_TRUE(topic_error(bad)) << bad;
  }
}

TEST(TopicPattern, ExactAndPrefix) {
  EXPECT_TRUE(topic_matches("user:alice", "user:alice"));
  EXPECT_FALSE(topic_matches("user:alice", "user:alice2"));
  EXPECT_TRUE(topic_matches("user:*", "user:alice"));
  EXPECT_TRUE(topic_matches("user:*", "user:"));
  EXPECT_FALSE(topic_matches("user:*", "users"));
  EXPECT_TRUE(topic_matches("*", "anything"));
  EXPECT_FALSE(topic_matches("", "a"));
}

}  // namespace
}  // namespace ssehub
