#include "stream/frame_queue.hpp"

#include <gtest/gtest.h>
#include <algorithm>
#include <array>
#include <cstdio>
#include <deque>
#include <random>

namespace ssehub {
namespace {

FrameQueue::Frame frame(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

// Everything the queue would offer, in one piece, taking `limit` spans at a time.
std::vector<std::string> spans(const FrameQueue& q, std::size_t limit = 64) {
  std::vector<std::string_view> out(limit);
  std::size_t n = q.front(out);
  return {out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)};
}

std::string joined(const FrameQueue& q) {
  std::string s;
  for (auto& p : spans(q, q.slots() + 1)) s += p;
  return s;
}

TEST(FrameQueue, StartsEmpty) {
  FrameQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.slots(), 0u);
  EXPECT_TRUE(spans(q).empty());
}

TEST(FrameQueue, OffersFramesInOrderOneSpanEach) {
  FrameQueue q;
  q.push(frame("abc"));
  q.push(frame("de"));
  q.push(frame("f"));
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(q.bytes(), 6u);
  EXPECT_EQ(spans(q), (std::vector<std::string>{"abc", "de", "f"}));
}

TEST(FrameQueue, OffersNoMoreSpansThanAsked) {
  FrameQueue q;
  for (int i = 0; i < 5; ++i) q.push(frame(std::to_string(i)));
  EXPECT_EQ(spans(q, 2), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(spans(q, 0), std::vector<std::string>{});
  q.consume(1);
  EXPECT_EQ(spans(q, 3), (std::vector<std::string>{"1", "2", "3"}));
}

TEST(FrameQueue, SpansPointIntoTheSharedFrame) {
  FrameQueue q;
  auto f = frame("shared");
  q.push(f);
  std::array<std::string_view, 1> out;
  ASSERT_EQ(q.front(out), 1u);
  EXPECT_EQ(out[0].data(), f->data());
  q.consume(2);
  ASSERT_EQ(q.front(out), 1u);
  EXPECT_EQ(out[0].data(), f->data() + 2);
}

TEST(FrameQueue, OneByteWritesWalkEveryFrame) {
  FrameQueue q;
  const std::string all = "abcdefghij";
  q.push(frame("abc"));
  q.push(frame("d"));
  q.push(frame("efghij"));
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(joined(q), all.substr(i));
    EXPECT_EQ(q.bytes(), all.size() - i);
    q.consume(1);
  }
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.slots(), 0u);
}

TEST(FrameQueue, PartialWriteWithinTheFirstFrame) {
  FrameQueue q;
  q.push(frame("hello"));
  q.push(frame("world"));
  q.consume(3);
  EXPECT_EQ(spans(q), (std::vector<std::string>{"lo", "world"}));
  EXPECT_EQ(q.bytes(), 7u);
}

TEST(FrameQueue, WriteEndingExactlyAtAFrameBoundary) {
  FrameQueue q;
  q.push(frame("hello"));
  q.push(frame("world"));
  q.push(frame("!"));
  q.consume(5);
  EXPECT_EQ(spans(q), (std::vector<std::string>{"world", "!"}));
  q.consume(5);
  EXPECT_EQ(spans(q), (std::vector<std::string>{"!"}));
  EXPECT_EQ(q.bytes(), 1u);
  q.consume(1);
  EXPECT_TRUE(q.empty());
}

TEST(FrameQueue, WriteAcrossSeveralFrameBoundaries) {
  FrameQueue q;
  q.push(frame("ab"));
  q.push(frame("cd"));
  q.push(frame("ef"));
  q.push(frame("gh"));
  q.consume(1);
  q.consume(4);  // b, cd, e
  EXPECT_EQ(spans(q), (std::vector<std::string>{"f", "gh"}));
  EXPECT_EQ(q.bytes(), 3u);
}

TEST(FrameQueue, ZeroByteWriteChangesNothing) {
  FrameQueue q;
  q.consume(0);
  EXPECT_TRUE(q.empty());
  q.push(frame("abc"));
  q.consume(0);
  EXPECT_EQ(spans(q), std::vector<std::string>{"abc"});
  q.consume(1);
  q.consume(0);
  EXPECT_EQ(spans(q), std::vector<std::string>{"bc"});
}

TEST(FrameQueue, EmptyFramesAreNotQueued) {
  FrameQueue q;
  q.push(frame(""));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.slots(), 0u);
  q.push(frame("a"));
  q.push(frame(""));
  q.push(frame("b"));
  // No zero-length span: a write of what is offered always moves something.
  EXPECT_EQ(spans(q), (std::vector<std::string>{"a", "b"}));
  q.consume(2);
  EXPECT_TRUE(q.empty());
}

TEST(FrameQueue, PushesBetweenPartialWrites) {
  FrameQueue q;
  q.push(frame("12345"));
  q.consume(2);
  q.push(frame("678"));
  EXPECT_EQ(joined(q), "345678");
  q.consume(3);
  EXPECT_EQ(spans(q), std::vector<std::string>{"678"});
  q.push(frame("9"));
  q.consume(2);
  EXPECT_EQ(spans(q), (std::vector<std::string>{"8", "9"}));
  q.consume(2);
  EXPECT_TRUE(q.empty());
  q.push(frame("again"));
  EXPECT_EQ(joined(q), "again");
  EXPECT_EQ(q.slots(), 1u);
}

TEST(FrameQueue, DrainedQueueReleasesItsSlots) {
  FrameQueue q;
  for (int i = 0; i < 10; ++i) q.push(frame("x"));
  q.consume(10);
  EXPECT_EQ(q.slots(), 0u);
}

TEST(FrameQueue, ReleasesTheFramesItWrote) {
  FrameQueue q;
  auto f = frame("abc");
  q.push(f);
  q.push(frame("d"));
  EXPECT_EQ(f.use_count(), 2);
  q.consume(2);
  EXPECT_EQ(f.use_count(), 2);  // still partly unwritten
  q.consume(1);
  EXPECT_EQ(f.use_count(), 1);
}

TEST(FrameQueue, CompactsAReaderThatNeverFullyDrains) {
  FrameQueue q;
  // Always one frame behind: the written prefix would grow without compaction.
  q.push(frame("x"));
  for (int i = 0; i < 1000; ++i) {
    q.push(frame("y"));
    q.consume(1);
    EXPECT_EQ(q.bytes(), 1u);
    EXPECT_LE(q.slots(), 65u);
  }
  EXPECT_EQ(joined(q), "y");
}

TEST(FrameQueue, CompactsOnlyOnceWrittenSlotsAreTheLargerPart) {
  FrameQueue q;
  for (int i = 0; i < 200; ++i) q.push(frame("x"));
  q.consume(63);
  EXPECT_EQ(q.slots(), 200u);  // fewer than 64 written slots: kept
  q.consume(1);
  EXPECT_EQ(q.slots(), 200u);  // 64 written of 200: kept
  q.consume(36);
  EXPECT_EQ(q.slots(), 100u);  // 100 written of 200: dropped
  EXPECT_EQ(q.bytes(), 100u);
  EXPECT_EQ(joined(q), std::string(100, 'x'));
}

TEST(FrameQueue, CompactionKeepsAPartlyWrittenFirstFrame) {
  FrameQueue q;
  for (int i = 0; i < 70; ++i) q.push(frame("ab"));
  q.push(frame("tail"));
  q.consume(70 * 2 + 1);  // into "tail"
  EXPECT_EQ(q.slots(), 1u);
  EXPECT_EQ(spans(q), std::vector<std::string>{"ail"});
  EXPECT_EQ(q.bytes(), 3u);
}

// Random pushes (empty frames among them) and writes of random size through a
// random number of spans, against a model: the string of every byte pushed with
// the written prefix erased, and the list of frames still (partly) unwritten.
TEST(FrameQueue, RandomModel) {
  const unsigned seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  auto pick = [&](std::size_t lo, std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
  };
  FrameQueue q;
  std::string model;
  std::deque<std::string> model_frames;
  std::size_t counter = 0;
  for (int step = 0; step < 20000; ++step) {
    if (pick(0, 2) != 0) {
      std::string f;
      std::size_t len = pick(0, 5) == 0 ? 0 : pick(1, 40);
      for (std::size_t i = 0; i < len; ++i) f += static_cast<char>('a' + (counter++ % 26));
      model += f;
      if (!f.empty()) model_frames.push_back(f);
      q.push(frame(std::move(f)));
    } else {
      // A write: offered spans, of which the socket takes any amount.
      std::vector<std::string_view> out(pick(1, 8));
      std::size_t n = q.front(out);
      ASSERT_EQ(n, std::min(out.size(), model_frames.size()));
      std::size_t offered = 0;
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(out[i], model_frames[i]);
        offered += out[i].size();
      }
      std::size_t written = pick(0, offered);
      q.consume(written);
      model.erase(0, written);
      while (written > 0) {
        std::size_t take = std::min(written, model_frames.front().size());
        model_frames.front().erase(0, take);
        if (model_frames.front().empty()) model_frames.pop_front();
        written -= take;
      }
    }
    ASSERT_EQ(q.bytes(), model.size());
    ASSERT_EQ(q.empty(), model.empty());
    const std::size_t unwritten = model_frames.size();
    if (unwritten == 0) {
      ASSERT_EQ(q.slots(), 0u);
    } else {
      ASSERT_LT(q.slots(), std::max<std::size_t>(64 + unwritten, 2 * unwritten));
    }
    if (step % 97 == 0) {
      ASSERT_EQ(joined(q), model);
    }
  }
  q.consume(q.bytes());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.slots(), 0u);
}

}  // namespace
}  // namespace ssehub
