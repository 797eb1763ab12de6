#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <random>
#include <set>

#include "subscriber_harness.hpp"

namespace ssehub::subscriber_test {
namespace {

// A Redis in memory for the random run: it confirms commands as they are sent and
// delivers the messages of the channels subscribed on the current connection.
struct FakeRedis {
  std::set<std::string> channels;
  std::deque<sub::Reply> queue;
  bool up = false;

  void on_send(const sub::Send& s) {
    for (const auto& cmd : s.commands) {
      for (std::size_t i = 1; i < cmd.size(); ++i) {
        if (cmd[0] == "SUBSCRIBE") {
          channels.insert(cmd[i]);
          queue.push_back(confirm(cmd[i]));
        } else {
          channels.erase(cmd[i]);
          queue.push_back(confirm(cmd[i], "unsubscribe"));
        }
      }
    }
  }
  void publish(const std::string& ch, sub::Reply r) {
    if (up && channels.contains(ch)) queue.push_back(std::move(r));
  }
};

// Random schedules of publishes (some cut short, as a publisher that loses Redis
// mid-batch), topic changes, reads in random pieces, time passing, connection
// failures and store reads. Whatever the schedule: delivery is in strictly
// increasing seq order and never waits for a store check once a notice was
// heard, every stream's wait ends, and once faults stop every committed event on
// a topic wanted throughout has been delivered.
TEST(SubscriberMachine, RandomSchedulesDeliverEveryEventOnceInOrder) {
  // SSEHUB_SEED replays one run.
  const char* fixed = std::getenv("SSEHUB_SEED");
  const unsigned base = fixed ? static_cast<unsigned>(std::stoul(fixed)) : std::random_device{}();
  for (unsigned run = 0; run < (fixed ? 1u : 200u); ++run) {
    const unsigned seed = base + run;
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    auto chance = [&](double p) { return std::uniform_real_distribution<>(0, 1)(rng) < p; };
    auto o = Harness::options();
    o.sentinel_interval = 700ms;
    o.sentinel_timeout = 2000ms;
    o.max_buffered = 8;
    Harness h(o);
    FakeRedis redis;
    h.m.want("a");
    h.m.want("b");
    bool c_wanted = false;
    int waiting = 0;
    std::uint64_t seq = 0;

    auto run_actions = [&](const sub::Actions& actions) {
      for (const auto& a : actions) {
        if (auto* s = std::get_if<sub::Send>(&a)) redis.on_send(*s);
        if (auto* p = std::get_if<sub::PublishProbe>(&a)) {
          redis.publish(kSentinel, {"message", kSentinel, std::to_string(p->token)});
        }
        if (std::holds_alternative<sub::Disconnect>(a)) {
          redis.up = false;
          redis.channels.clear();
          redis.queue.clear();
        }
      }
    };
    auto feed = [&](const sub::Input& in) { run_actions(h.feed(in)); };
    // Live delivery does not wait for a store check: once a notice was heard, every
    // event up to its head on the topics wanted throughout has been delivered.
    std::uint64_t heard = 0;
    auto check_fresh = [&] {
      if (h.m.phase() != SubscriberMachine::Phase::serving) return;
      std::size_t want = 0, have = 0;
      for (const auto& e : h.store) want += e.seq <= heard && (e.topic == "a" || e.topic == "b");
      for (const auto& e : h.delivered) {
        have += e.seq <= heard && (e.topic == "a" || e.topic == "b");
      }
      ASSERT_EQ(have, want) << "heard through " << heard;
    };
    auto feed_reply = [&](sub::Reply r) {
      if (r.kind == "message" && r.channel == kHeads) {
        heard = std::max(heard, redis::decode_heads(r.payload).value().head);
      }
      feed(r);
    };
    auto drive_connection = [&] {
      using Phase = SubscriberMachine::Phase;
      if (h.m.phase() == Phase::backoff) feed(sub::BackoffElapsed{});
      if (h.m.phase() == Phase::connect) {
        redis.up = true;
        feed(sub::Opened{});
      }
    };
    feed(sub::Start{0});
    for (int step = 0; step < 300; ++step) {
      drive_connection();
      if (chance(0.3)) {  // a batch of 1..3 events
        const std::uint64_t batch_base = seq;
        const int n = 1 + static_cast<int>(rng() % 3);
        std::vector<Event> batch;
        for (int i = 0; i < n; ++i) {
          static const char* topics[] = {"a", "b", "c", "d"};
          batch.push_back(ev(++seq, topics[rng() % 4]));
          h.store.push_back(batch.back());
        }
        // Cut short: published only in part, its notice lost.
        const std::size_t sent = chance(0.15) ? rng() % (batch.size() + 1) : batch.size() + 1;
        for (std::size_t i = 0; i < batch.size() && i < sent; ++i) {
          redis.publish(channel(batch[i].topic), message(batch[i]));
        }
        if (sent > batch.size()) redis.publish(kHeads, notice(batch_base, seq));
      }
      if (chance(0.05)) {
        c_wanted = !c_wanted;
        c_wanted ? h.m.want("c") : h.m.unwant("c");
      }
      if (chance(0.1)) {
        ++waiting;
        // A stream wants its topics before it asks (RedisBus::topic_added).
        if (h.m.subscribed({chance(0.5) ? "a" : "b"}, [&] { --waiting; })) --waiting;
      }
      if (chance(0.4)) feed(sub::Tick{});
      // What the socket holds, in a random piece.
      std::size_t take = rng() % (redis.queue.size() + 1);
      while (take-- > 0 && !redis.queue.empty() && redis.up) {
        auto r = std::move(redis.queue.front());
        redis.queue.pop_front();
        feed_reply(std::move(r));
      }
      if (redis.up) feed(sub::ReadDone{});
      check_fresh();
      if (HasFailure()) return;
      if (chance(0.02)) feed(sub::Failed{"injected"});
      h.now.steady += std::chrono::milliseconds(rng() % 300);
      h.now.unix_ms += 100;
    }
    // Faults stop: serve until the store checks have caught up.
    for (int step = 0; step < 40; ++step) {
      drive_connection();
      feed(sub::Tick{});
      while (!redis.queue.empty() && redis.up) {
        auto r = std::move(redis.queue.front());
        redis.queue.pop_front();
        feed_reply(std::move(r));
      }
      feed(sub::ReadDone{});
      h.now.steady += 600ms;
    }
    ASSERT_EQ(h.m.phase(), SubscriberMachine::Phase::serving);
    EXPECT_EQ(waiting, 0);
    EXPECT_TRUE(h.gaps.empty());
    auto got = h.delivered_seqs();
    ASSERT_TRUE(std::adjacent_find(got.begin(), got.end(), std::greater_equal<>()) == got.end())
        << "delivery out of order or duplicated";
    Seqs want, have;
    for (const auto& e : h.store) {
      if (e.topic == "a" || e.topic == "b") want.push_back(e.seq);
    }
    for (const auto& e : h.delivered) {
      if (e.topic == "a" || e.topic == "b") have.push_back(e.seq);
      ASSERT_NE(e.topic, "d") << "an event on a topic never wanted";
    }
    ASSERT_EQ(have, want);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace ssehub::subscriber_test
