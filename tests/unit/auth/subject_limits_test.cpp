#include "auth/subject_limits.hpp"

#include <gtest/gtest.h>

#include <random>

#include "http/cors.hpp"

namespace ssehub {
namespace {

TEST(SubjectLimits, HoldsUpToTheCapPerSubject) {
  SubjectLimits limits(2);
  EXPECT_TRUE(limits.acquire("a"));
  EXPECT_TRUE(limits.acquire("a"));
  EXPECT_FALSE(limits.acquire("a"));
  EXPECT_TRUE(limits.acquire("b"));
  limits.release("a");
  EXPECT_TRUE(limits.acquire("a"));
  // Releasing what was never held changes nothing.
  limits.release("nobody");
  EXPECT_FALSE(limits.acquire("a"));
}

TEST(SubjectLimits, ZeroMeansNoCap) {
  SubjectLimits limits(0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limits.acquire("a"));
}

TEST(SubjectLimits, RandomAcquiresAndReleasesMatchACount) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  SubjectLimits limits(3);
  int held[4] = {};
  for (int i = 0; i < 5000; ++i) {
    const int s = static_cast<int>(rng() % 4);
    const std::string subject(1, static_cast<char>('a' + s));
    if (rng() % 2) {
      EXPECT_EQ(limits.acquire(subject), held[s] < 3);
      if (held[s] < 3) ++held[s];
    } else if (held[s] > 0) {
      limits.release(subject);
      --held[s];
    }
  }
}

TEST(CorsPolicy, AnswersOnlyListedOrigins) {
  CorsPolicy cors({"https://app.example"});
  EXPECT_EQ(cors.headers("https://app.example"),
            "Access-Control-Allow-Origin: https://app.example\r\n"
            "Access-Control-Allow-Credentials: true\r\nVary: Origin\r\n");
  EXPECT_EQ(cors.headers("https://evil.example"), "");
  EXPECT_EQ(cors.headers(""), "");
  EXPECT_EQ(CorsPolicy().headers("https://app.example"), "");
}

}  // namespace
}  // namespace ssehub
