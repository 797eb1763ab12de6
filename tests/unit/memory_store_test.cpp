#include "ssehub/memory_store.hpp"

#include <gtest/gtest.h>

namespace ssehub {
namespace {

std::vector<std::string> append(MemoryStore& s, std::vector<NewEvent> batch,
                                std::vector<EventBatchPtr>* published = nullptr) {
  std::vector<std::string> ids;
  s.append(
      std::move(batch),
      [&](EventBatchPtr b) {
        if (published) published->push_back(b);
      },
      [&](AppendResult r) {
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

}  // namespace
}  // namespace ssehub
