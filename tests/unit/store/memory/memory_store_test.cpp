#include "store/memory/memory_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace ssehub {
namespace {

std::vector<std::string> append(MemoryStore& s, std::vector<NewEvent> batch,
                                std::vector<EventBatchPtr>* published = nullptr) {
  std::vector<std::string> ids;
  s.append(
      std::move(batch),
      [&](const EventBatchPtr& b) {
        if (published) published->push_back(b);
      },
      [&](const AppendResult& r) {
        EXPECT_TRUE(r.ok);
        ids = r.ids;
      });
  return ids;
}

ReplaySnapshot replay(MemoryStore& s, std::vector<std::string> topics, std::string after,
                      std::size_t limit) {
  ReplaySnapshot out;
  s.replay({std::move(topics), resolve_last_event_id(after, std::nullopt), limit},
           [&](ReplayResult r) {
             EXPECT_TRUE(r.ok);
             out = std::move(r.snapshot);
           });
  return out;
}

TEST(MemoryStore, AssignsIncreasingIdsInOrderAndPublishesInTheOrderedSection) {
  MemoryStore s(100, "ep");
  std::vector<EventBatchPtr> published;
  auto ids = append(s, {{"a", "t", "1"}, {"b", "t", "2"}}, &published);
  EXPECT_EQ(ids, (std::vector<std::string>{"ep-1", "ep-2"}));
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ((*published[0])[1].id, "ep-2");
  EXPECT_EQ(append(s, {{"a", "t", "3"}}), std::vector<std::string>{"ep-3"});
}

TEST(MemoryStore, ReplayFiltersTopicsAndReadsAtMostLimitPlusOne) {
  MemoryStore s(100, "ep");
  for (int i = 0; i < 10; ++i) append(s, {{i % 2 ? "odd" : "even", "t", std::to_string(i)}});
  auto snap = replay(s, {"odd"}, "ep-0", 100);
  ASSERT_EQ(snap.events.size(), 5u);
  EXPECT_EQ(snap.events[0].seq, 2u);
  EXPECT_EQ(snap.window.head_seq, 10u);
  auto bounded = replay(s, {"odd", "even"}, "ep-2", 3);
  EXPECT_EQ(bounded.events.size(), 4u);  // limit + 1 tells the caller there is more
  EXPECT_EQ(bounded.events[0].seq, 3u);
}

TEST(MemoryStore, RingEvictsAndReportsExpiry) {
  MemoryStore s(3, "ep");
  for (int i = 0; i < 5; ++i) append(s, {{"a", "t", "x"}});  // keeps 3, 4, 5
  EXPECT_EQ(replay(s, {"a"}, "ep-2", 10).check, IdCheck::ok);
  EXPECT_EQ(replay(s, {"a"}, "ep-2", 10).events.size(), 3u);
  EXPECT_EQ(replay(s, {"a"}, "ep-1", 10).check, IdCheck::expired);
  EXPECT_EQ(replay(s, {"a"}, "ep-6", 10).check, IdCheck::unknown_id);
  EXPECT_EQ(replay(s, {"a"}, "other-2", 10).check, IdCheck::unknown_id);
}

TEST(MemoryStore, FreshEpochPerStore) {
  MemoryStore a(1), b(1);
  EXPECT_NE(a.epoch(), b.epoch());
  EXPECT_TRUE(valid_epoch(a.epoch()));
}

// The index against a scan of everything appended, over random topics, batch
// sizes, capacities, ids and limits (seed printed).
TEST(MemoryStore, IndexedReplayMatchesAScanOfTheRing) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const std::vector<std::string> names = {"a", "b", "c", "d", "e"};
  for (int round = 0; round < 40; ++round) {
    const std::size_t capacity = 1 + rng() % 300;
    MemoryStore s(capacity, "ep");
    std::vector<std::pair<std::uint64_t, std::string>> log;  // every event appended
    const int batches = 1 + static_cast<int>(rng() % 60);
    for (int b = 0; b < batches; ++b) {
      std::vector<NewEvent> batch;
      std::vector<std::string> topics;
      const int n = 1 + static_cast<int>(rng() % 20);
      for (int i = 0; i < n; ++i) {
        // Skewed: topic a is frequent, e is rare.
        topics.push_back(names[std::min<std::size_t>(rng() % 8, names.size() - 1)]);
        batch.push_back({topics.back(), "t", "{}"});
      }
      auto ids = append(s, std::move(batch));
      ASSERT_EQ(ids.size(), topics.size());
      for (std::size_t i = 0; i < ids.size(); ++i) {
        log.emplace_back(resolve_last_event_id(ids[i], std::nullopt).id.seq, topics[i]);
      }
    }
    const std::uint64_t head = log.back().first;
    const std::uint64_t oldest = head >= capacity ? head - capacity + 1 : 1;
    for (int q = 0; q < 30; ++q) {
      std::vector<std::string> topics;
      for (const auto& t : names) {
        if (rng() % 2) topics.push_back(t);
      }
      if (topics.empty()) topics.push_back("a");
      if (rng() % 5 == 0) topics.push_back(topics.front());  // asked twice
      const std::uint64_t after = oldest - 1 + rng() % (head - oldest + 2);
      const std::size_t limit = rng() % 50;
      std::vector<std::uint64_t> expect;
      for (const auto& [seq, topic] : log) {
        if (seq < oldest || seq <= after) continue;
        if (std::find(topics.begin(), topics.end(), topic) == topics.end()) continue;
        if (expect.size() == limit + 1) break;
        expect.push_back(seq);
      }
      auto got = replay(s, topics, "ep-" + std::to_string(after), limit);
      std::vector<std::uint64_t> seqs;
      for (const auto& ev : got.events) {
        seqs.push_back(ev.seq);
        EXPECT_NE(std::find(topics.begin(), topics.end(), ev.topic), topics.end());
      }
      ASSERT_EQ(seqs, expect) << "round " << round << " after " << after << " limit " << limit;
    }
  }
}

}  // namespace
}  // namespace ssehub
