#include "core/replay_decision.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ssehub {
namespace {

LastEventId id(std::string_view text) {
  return resolve_last_event_id(text, std::nullopt);
}

StoreWindow window(std::uint64_t head, std::uint64_t pruned = 0) {
  return {"ep", head, pruned};
}

std::vector<Event> events(std::uint64_t from, std::uint64_t to) {
  std::vector<Event> out;
  for (auto s = from; s <= to; ++s)
    out.push_back(Event{format_event_id("ep", s), s, "t", "m", "1"});
  return out;
}

TEST(CheckRequestedId, Ok) {
  EXPECT_EQ(check_requested_id(id("ep-5"), window(10)), IdCheck::ok);
  EXPECT_EQ(check_requested_id(id("ep-10"), window(10)), IdCheck::ok);  // at head: nothing new
  EXPECT_EQ(check_requested_id(id("ep-0"), window(10)), IdCheck::ok);   // from the start
}

TEST(CheckRequestedId, UnknownForGarbageOtherEpochAndFuture) {
  EXPECT_EQ(check_requested_id(id("not an id"), window(10)), IdCheck::unknown_id);
  EXPECT_EQ(check_requested_id(id("other-5"), window(10)), IdCheck::unknown_id);
  EXPECT_EQ(check_requested_id(id("ep-11"), window(10)), IdCheck::unknown_id);
}

TEST(CheckRequestedId, ExpiredOnlyWhenSomethingAfterItIsGone) {
  // Seqs 1..4 pruned: a client at 4 still gets 5.. in full; one at 3 missed 4.
  EXPECT_EQ(check_requested_id(id("ep-4"), window(10, 4)), IdCheck::ok);
  EXPECT_EQ(check_requested_id(id("ep-3"), window(10, 4)), IdCheck::expired);
}

TEST(DecideReplay, DeliversUpToTheLimit) {
  auto d = decide_replay(id("ep-2"), {window(5), IdCheck::ok, events(3, 5)}, 3);
  EXPECT_EQ(d.kind, ReplayDecision::Kind::deliver);
  ASSERT_EQ(d.events.size(), 3u);
  EXPECT_EQ(d.events.front().seq, 3u);
  EXPECT_EQ(d.covered_through, 5u);
}

TEST(DecideReplay, MoreThanLimitTruncatesWithoutPartialBatch) {
  auto d = decide_replay(id("ep-1"), {window(9), IdCheck::ok, events(2, 5)}, 3);
  EXPECT_EQ(d.kind, ReplayDecision::Kind::truncated);
  EXPECT_EQ(d.truncation, TruncationReason::limit);
  EXPECT_TRUE(d.events.empty());
  EXPECT_EQ(d.resume.str(), "ep-9");  // resumes at the head of the snapshot
  EXPECT_EQ(d.covered_through, 9u);
}

TEST(DecideReplay, ExpiredAndUnknownTruncateToTheHead) {
  auto e = decide_replay(id("ep-1"), {window(9, 5), IdCheck::expired, {}}, 3);
  EXPECT_EQ(e.truncation, TruncationReason::expired);
  EXPECT_EQ(e.resume.str(), "ep-9");
  auto u = decide_replay(id("zz-1"), {window(0), IdCheck::unknown_id, {}}, 3);
  EXPECT_EQ(u.kind, ReplayDecision::Kind::truncated);
  EXPECT_EQ(u.truncation, TruncationReason::unknown_id);
  EXPECT_EQ(u.resume.str(), "ep-0");
}

TEST(DecideReplay, FailureSettlesNothing) {
  auto d = replay_failed(id("ep-4"), FailureReason::timeout);
  EXPECT_EQ(d.kind, ReplayDecision::Kind::failed);
  EXPECT_EQ(d.covered_through, 0u);
}

TEST(ControlFrames, TruncatedCarriesResumeIdAndReason) {
  auto d = decide_replay(id("ep-1"), {window(9), IdCheck::ok, events(2, 5)}, 3);
  std::string frame = encode_replay_truncated(d, 3, "ep-1");
  EXPECT_EQ(frame.rfind("id: ep-9\nevent: replay-truncated\ndata: ", 0), 0u) << frame;
  auto data = nlohmann::json::parse(frame.substr(frame.find("data: ") + 6));
  EXPECT_EQ(data["reason"], "limit");
  EXPECT_EQ(data["limit"], 3);
  EXPECT_EQ(data["requestedAfter"], "ep-1");
}

TEST(ControlFrames, FailedHasNoId) {
  std::string frame = encode_replay_failed(FailureReason::unavailable);
  EXPECT_EQ(frame, "event: replay-failed\ndata: {\"reason\":\"unavailable\"}\n\n");
}

TEST(ControlFrames, RequestedAfterWithControlBytesStaysOneLine) {
  auto d = decide_replay(id("x"), {window(1), IdCheck::unknown_id, {}}, 3);
  std::string frame = encode_replay_truncated(d, 3, "a\nb\xff");
  EXPECT_EQ(std::count(frame.begin(), frame.end(), '\n'), 4);
}

}  // namespace
}  // namespace ssehub

namespace ssehub {
namespace {

TEST(DecideReplay, FailureOfThisStoreSettlesTheClientsOwnId) {
  auto same =
      replay_failed(resolve_last_event_id("ep-4", std::nullopt), FailureReason::timeout, "ep", 10);
  EXPECT_EQ(same.covered_through, 4u);
  auto other =
      replay_failed(resolve_last_event_id("zz-4", std::nullopt), FailureReason::timeout, "ep", 10);
  EXPECT_EQ(other.covered_through, 0u);
}

// Regression: a failure settled whatever seq the client claimed, so a claim far
// beyond the head skipped every live event that followed.
TEST(DecideReplay, FailureNeverSettlesAnImplausibleClaim) {
  auto far = replay_failed(resolve_last_event_id("ep-5000000000", std::nullopt),
                           FailureReason::error, "ep", 10);
  EXPECT_EQ(far.covered_through, 10u);
  // Another replica may be ahead of this one: a modest lead is the client's own.
  auto ahead = replay_failed(resolve_last_event_id("ep-1000000", std::nullopt),
                             FailureReason::error, "ep", 10);
  EXPECT_EQ(ahead.covered_through, 1000000u);
}

TEST(DecideReplay, TooLargeForTheQueueBecomesATruncation) {
  ReplaySnapshot snap{{"ep", 9, 0}, IdCheck::ok, {}};
  snap.events.push_back(Event{"ep-3", 3, "t", "m", "1"});
  auto d = truncate_for_size(decide_replay(resolve_last_event_id("ep-2", std::nullopt), snap, 10));
  EXPECT_EQ(d.kind, ReplayDecision::Kind::truncated);
  EXPECT_EQ(d.truncation, TruncationReason::limit);
  EXPECT_EQ(d.resume.str(), "ep-9");
  EXPECT_TRUE(d.events.empty());
}

}  // namespace
}  // namespace ssehub
