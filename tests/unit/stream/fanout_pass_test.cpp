// FanoutPass: a worker's fan-out in slices. Scenario tests for order, closing and
// joining between slices, and a seeded random schedule that composes passes with
// the replay hand-off the way a worker and its streams do.
#include "stream/fanout_pass.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/replay_handoff.hpp"

namespace ssehub {
namespace {

struct FakeTopic;

// A stream as a pass sees it, with the real hand-off in front of what it received.
struct FakeStream : std::enable_shared_from_this<FakeStream> {
  std::vector<const FakeTopic*> topics;
  std::uint64_t last_pass = 0;
  bool closed = false;
  ReplayHandoff handoff{1 << 20};
  std::vector<std::uint64_t> got;

  mutable std::size_t topic_visits = 0;  // what a pass costs it

  template <class Fn>
  void each_topic(Fn&& fn) const {
    for (const FakeTopic* t : topics) {
      ++topic_visits;
      fn(t);
    }
  }
  bool mark_for_pass(std::uint64_t pass) { return std::exchange(last_pass, pass) != pass; }
  void push(std::uint64_t seq) {
    if (closed) return;
    if (handoff.offer(seq, nullptr) == ReplayHandoff::Offer::deliver) got.push_back(seq);
  }
};

struct FakeTopic {
  struct Member {
    FakeStream* session;
  };
  std::vector<Member> members;
};

using Pass = FanoutPass<FakeStream, FakeTopic>;

// A worker's topic registry: join appends, leave swap-removes, an empty topic is
// erased (as Worker does).
struct Registry {
  std::map<std::string, std::unique_ptr<FakeTopic>> topics;
  std::vector<std::shared_ptr<FakeStream>> streams;

  std::shared_ptr<FakeStream> join(const std::vector<std::string>& names) {
    auto s = std::make_shared<FakeStream>();
    for (const auto& n : names) {
      auto& t = topics[n];
      if (!t) t = std::make_unique<FakeTopic>();
      t->members.push_back({s.get()});
      s->topics.push_back(t.get());
    }
    streams.push_back(s);
    return s;
  }
  // Closes the stream; `forget` also drops its last reference.
  void close(const std::shared_ptr<FakeStream>& s, bool forget) {
    s->closed = true;
    for (auto it = topics.begin(); it != topics.end();) {
      auto& m = it->second->members;
      for (std::size_t i = 0; i < m.size(); ++i) {
        if (m[i].session == s.get()) {
          m[i] = m.back();
          m.pop_back();
          break;
        }
      }
      it = m.empty() ? topics.erase(it) : std::next(it);
    }
    s->topics.clear();
    if (forget) std::erase(streams, s);
  }
  const FakeTopic* find(const std::string& n) const {
    auto it = topics.find(n);
    return it == topics.end() ? nullptr : it->second.get();
  }
};

struct Ev {
  std::uint64_t seq;
  std::string topic;
};

Pass pass_for(const Registry& r, const std::vector<Ev>& batch, std::uint64_t serial) {
  std::vector<const FakeTopic*> topics;
  for (const auto& e : batch) topics.push_back(r.find(e.topic));
  return Pass::for_topics(topics, serial);
}

// One slice: every stream of it takes all of its events of the batch.
std::size_t slice(Pass& p, const std::vector<Ev>& batch, std::size_t n) {
  return p.step(
      n, [&](FakeStream& s) { p.for_each_pick(s, [&](std::size_t k) { s.push(batch[k].seq); }); });
}

TEST(FanoutPass, EachStreamTakesItsEventsInBatchOrderWhateverTheSlice) {
  Registry r;
  auto both = r.join({"a", "b"});
  auto only_a = r.join({"a"});
  auto other = r.join({"c"});
  std::vector<Ev> batch{{1, "a"}, {2, "b"}, {3, "a"}, {4, "b"}};
  Pass p = pass_for(r, batch, 1);
  EXPECT_EQ(p.remaining(), 2u);  // `both` once, however many of its topics are in the batch
  EXPECT_EQ(slice(p, batch, 1), 1u);
  EXPECT_FALSE(p.done());
  EXPECT_EQ(slice(p, batch, 1), 1u);
  EXPECT_TRUE(p.done());
  EXPECT_EQ(slice(p, batch, 1), 0u);
  EXPECT_EQ(both->got, (std::vector<std::uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(only_a->got, (std::vector<std::uint64_t>{1, 3}));
  EXPECT_TRUE(other->got.empty());
}

TEST(FanoutPass, AStreamThatClosesBetweenSlicesIsSkippedAndTheRestAreServedOnce) {
  Registry r;
  std::vector<std::shared_ptr<FakeStream>> s;
  for (int i = 0; i < 6; ++i) s.push_back(r.join({"a"}));
  std::vector<Ev> batch{{7, "a"}};
  Pass p = pass_for(r, batch, 1);
  slice(p, batch, 2);  // s[0], s[1]
  // One closes and is gone, one closes but lives on (a write still pending); the
  // swap-remove moves later members into their places.
  r.close(s[2], true);
  r.close(s[3], false);
  auto gone = std::weak_ptr<FakeStream>(s[2]);
  s[2].reset();
  EXPECT_TRUE(gone.expired());
  while (!p.done()) slice(p, batch, 1);
  for (int i : {0, 1, 4, 5}) EXPECT_EQ(s[i]->got, (std::vector<std::uint64_t>{7})) << i;
  EXPECT_TRUE(s[3]->got.empty());
}

TEST(FanoutPass, AStreamThatJoinsDuringAPassWaitsForTheNextBatch) {
  Registry r;
  auto early = r.join({"a"});
  r.join({"a"});
  std::vector<Ev> first{{1, "a"}, {2, "b"}};
  Pass p = pass_for(r, first, 1);
  slice(p, first, 1);
  auto late = r.join({"a", "b"});  // a topic of the batch that had no member when it began
  while (!p.done()) slice(p, first, 1);
  EXPECT_TRUE(late->got.empty());
  std::vector<Ev> second{{3, "b"}, {4, "a"}};
  Pass q = pass_for(r, second, 2);
  while (!q.done()) slice(q, second, 1);
  EXPECT_EQ(late->got, (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(early->got, (std::vector<std::uint64_t>{1, 4}));
}

// A batch of one event on each of 1,000 topics, each with 10 streams: a stream
// costs its own topics, not the batch's events.
TEST(FanoutPass, AStreamCostsItsTopicsNotTheWholeBatch) {
  Registry r;
  std::vector<Ev> batch;
  std::vector<std::shared_ptr<FakeStream>> streams;
  for (std::uint64_t t = 0; t < 1000; ++t) {
    for (int i = 0; i < 10; ++i) streams.push_back(r.join({"t" + std::to_string(t)}));
    batch.push_back({t + 1, "t" + std::to_string(t)});
  }
  Pass p = pass_for(r, batch, 1);
  while (!p.done()) slice(p, batch, 256);
  std::size_t visits = 0;
  for (const auto& s : streams) {
    ASSERT_EQ(s->got.size(), 1u);
    visits += s->topic_visits;
  }
  EXPECT_EQ(visits, streams.size());
}

TEST(FanoutPass, ForAllVisitsEveryStreamOnceInSlices) {
  Registry r;
  std::vector<FakeStream*> all;
  for (int i = 0; i < 5; ++i) all.push_back(r.join({"t" + std::to_string(i)}).get());
  Pass p = Pass::for_all(all);
  std::vector<FakeStream*> seen;
  while (!p.done()) p.step(2, [&](FakeStream& s) { seen.push_back(&s); });
  EXPECT_EQ(seen, all);
}

TEST(HeartbeatShare, AQuarterOfASliceAtLeastOneAndEveryOtherSliceAtOne) {
  EXPECT_EQ(heartbeat_share(256, 0), 64u);
  EXPECT_EQ(heartbeat_share(3, 7), 1u);  // events keep two
  EXPECT_EQ(heartbeat_share(2, 0), 1u);
  // One stream per slice: heartbeats and events take turns, so neither waits
  // for the other's whole pass.
  std::size_t to_heartbeats = 0;
  for (std::uint64_t n = 0; n < 10; ++n) to_heartbeats += heartbeat_share(1, n);
  EXPECT_EQ(to_heartbeats, 5u);
  for (std::size_t slice : {1u, 2u, 3u, 4u, 100u, 256u}) {
    for (std::uint64_t n = 0; n < 2; ++n) EXPECT_LE(heartbeat_share(slice, n), slice);
    EXPECT_LT(heartbeat_share(slice, 0) + heartbeat_share(slice, 1), 2 * slice) << slice;
  }
}

// The model of one stream in the random run.
struct Watch {
  std::shared_ptr<FakeStream> s;
  std::vector<std::string> topics;
  bool resume = false;          // joined with a Last-Event-ID: replays, then live
  std::uint64_t after = 0;      // its Last-Event-ID, or the head when it joined live
  bool replay_pending = false;  // resume: its store read has not come back yet
  bool closed = false;
};

// Random schedules: batches published, slices of random size, streams joining
// (live, or resuming from a random id with a replay that reads the store at a
// random later moment), closing (some gone at once, some living on). Whatever the
// schedule: every stream's events are strictly increasing and are exactly its
// topics' events after where it started, with nothing missing in between; a
// stream that stays open has all of them once the run settles.
TEST(FanoutPass, RandomSchedulesKeepEveryStreamCompleteAndInOrder) {
  const char* fixed = std::getenv("SSEHUB_SEED");
  const unsigned base = fixed ? static_cast<unsigned>(std::stoul(fixed)) : std::random_device{}();
  const std::vector<std::string> names{"a", "b", "c", "d"};
  for (unsigned run = 0; run < (fixed ? 1u : 300u); ++run) {
    const unsigned seed = base + run;
    SCOPED_TRACE("seed " + std::to_string(seed) + " (SSEHUB_SEED replays it)");
    std::mt19937 rng(seed);
    auto pick = [&](std::size_t n) {
      return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    Registry r;
    std::vector<Ev> log;  // committed, in seq order
    std::deque<std::vector<Ev>> inbox;
    std::vector<Ev> running;
    std::optional<Pass> pass;
    std::uint64_t serial = 0;
    std::vector<Watch> watches;

    auto replay = [&](Watch& w) {
      // The store holds every committed event: send those after `after`, then
      // release what was held, covered through the head.
      std::uint64_t head = log.empty() ? 0 : log.back().seq;
      for (const auto& e : log) {
        if (e.seq > w.after &&
            std::find(w.topics.begin(), w.topics.end(), e.topic) != w.topics.end() &&
            !w.s->closed) {
          w.s->got.push_back(e.seq);
        }
      }
      for (auto& f : w.s->handoff.finish_replay(head)) {
        if (!w.s->closed) w.s->got.push_back(f.seq);
      }
      w.replay_pending = false;
    };
    auto run_slice = [&](std::size_t n) {
      while (n > 0) {
        if (!pass) {
          if (inbox.empty()) return;
          running = std::move(inbox.front());
          inbox.pop_front();
          pass = pass_for(r, running, ++serial);
        }
        n -= slice(*pass, running, n);
        if (pass->done()) pass.reset();
      }
    };

    const int steps = 40 + static_cast<int>(pick(120));
    for (int step = 0; step < steps; ++step) {
      switch (pick(6)) {
        case 0: {  // a publish: committed, then queued for the worker
          std::vector<Ev> batch;
          for (std::size_t i = 0, n = 1 + pick(4); i < n; ++i) {
            batch.push_back({log.size() + 1, names[pick(names.size())]});
            log.push_back(batch.back());
          }
          inbox.push_back(std::move(batch));
          break;
        }
        case 1:
        case 2:
          run_slice(1 + pick(4));
          break;
        case 3: {  // a stream joins
          Watch w;
          for (const auto& n : names) {
            if (pick(2) == 0) w.topics.push_back(n);
          }
          if (w.topics.empty()) w.topics.push_back(names[pick(names.size())]);
          w.s = r.join(w.topics);
          w.resume = pick(2) == 0;
          if (w.resume) {
            w.after = log.empty() ? 0 : pick(log.size() + 1);
            w.s->handoff.begin_replay();
            w.replay_pending = true;
          } else {
            w.after = log.empty() ? 0 : log.back().seq;
          }
          watches.push_back(std::move(w));
          break;
        }
        case 4: {  // a store read comes back
          std::vector<Watch*> waiting;
          for (auto& w : watches) {
            if (w.replay_pending) waiting.push_back(&w);
          }
          if (!waiting.empty()) replay(*waiting[pick(waiting.size())]);
          break;
        }
        case 5:  // a stream closes
          if (!watches.empty()) {
            Watch& w = watches[pick(watches.size())];
            if (!w.closed) {
              w.closed = true;
              r.close(w.s, pick(2) == 0);
            }
          }
          break;
      }
    }
    // Settle: every replay returns, every batch is fanned out.
    for (auto& w : watches) {
      if (w.replay_pending) replay(w);
    }
    run_slice(SIZE_MAX);
    ASSERT_TRUE(inbox.empty());

    for (std::size_t i = 0; i < watches.size(); ++i) {
      const Watch& w = watches[i];
      SCOPED_TRACE("stream " + std::to_string(i));
      std::vector<std::uint64_t> want;
      for (const auto& e : log) {
        if (std::find(w.topics.begin(), w.topics.end(), e.topic) != w.topics.end()) {
          want.push_back(e.seq);
        }
      }
      const auto& got = w.s->got;
      ASSERT_TRUE(std::is_sorted(got.begin(), got.end()));
      ASSERT_EQ(std::adjacent_find(got.begin(), got.end()), got.end()) << "a duplicate";
      if (got.empty()) {
        // Only a stream that closed, or a live one whose topics had nothing new.
        if (!w.closed) {
          ASSERT_TRUE(
              std::none_of(want.begin(), want.end(), [&](std::uint64_t s) { return s > w.after; }));
        }
        continue;
      }
      // A contiguous run of its topics' events: nothing skipped in between.
      auto first = std::find(want.begin(), want.end(), got.front());
      ASSERT_NE(first, want.end());
      ASSERT_TRUE(std::equal(got.begin(), got.end(), first)) << "a gap";
      if (w.resume) {
        // It starts right after its Last-Event-ID.
        auto expected =
            std::find_if(want.begin(), want.end(), [&](std::uint64_t s) { return s > w.after; });
        ASSERT_EQ(first, expected);
      } else {
        // Everything committed after it joined reached it (earlier: no promise).
        ASSERT_TRUE(std::find_if(want.begin(), want.end(),
                                 [&](std::uint64_t s) { return s > w.after; }) >= first);
      }
      if (!w.closed) {
        ASSERT_EQ(got.back(), want.back()) << "an open stream missed the tail";
      }
    }
  }
}

}  // namespace
}  // namespace ssehub
