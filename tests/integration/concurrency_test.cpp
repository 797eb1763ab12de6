// The delivery invariants under concurrency on the embedded default: see
// reconnect_chaos.hpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "reconnect_chaos.hpp"
#include "test_support.hpp"

namespace ssehub::test {
namespace {

TEST(Concurrency, ReconnectingSubscribersSeeEveryEventOnceInOrder) {
  Daemon d(Env{{"SSEHUB_STREAM_HEARTBEAT_MS", "200"}});
  check_reconnect_chaos({d.port()});
}

// A stream joins a topic that no stream on its reactor thread had, while batches
// that interleave that topic's events with a topic the thread already serves
// wait in its inbox. From the first event it receives on, it must receive every
// event of its topics: a batch routed when it was queued would give it the
// served topic's events and not the new one's between them. Each round opens
// one such stream at a random moment into a burst of batches (seed printed).
TEST(Concurrency, AStreamJoiningANewTopicMidBurstMissesNothingAfterItsFirstEvent) {
  const unsigned seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  Daemon d(Env{{"SSEHUB_SERVER_THREADS", "2"},
               {"SSEHUB_STREAM_QUEUE_LIMIT_BYTES", "67108864"},
               {"SSEHUB_STORE_MEMORY_CAPACITY", "1000000"}});
  // Streams on "hot" that stay open: with connections spread over both reactor
  // threads, each thread serves "hot" (they do not read; the queue limit holds).
  std::vector<std::unique_ptr<SseStream>> holders;
  for (int i = 0; i < 8; ++i) {
    holders.push_back(std::make_unique<SseStream>(d.port(), "/events?topic=hot"));
    ASSERT_EQ(holders.back()->read_head(), 200);
  }
  std::map<std::uint64_t, std::string> committed;  // seq -> topic, every round so far
  std::mutex mutex;
  const auto budget = std::chrono::steady_clock::now() + 15s;
  int rounds = 0;
  for (; rounds < 200 && std::chrono::steady_clock::now() < budget; ++rounds) {
    const std::string topic = "join-" + std::to_string(rounds);
    std::atomic<std::uint64_t> last{0};
    std::atomic<bool> joined{false};
    // Batches go on until the stream has received some (then two more), at most 300.
    std::thread publisher([&] {
      std::uint64_t high = 0;
      for (int b = 0, after = 0; b < 300 && after < 2; ++b, after += joined ? 1 : 0) {
        std::string body = "[";
        std::vector<std::string> topics;
        for (int i = 0; i < 400; ++i) {
          topics.push_back(i % 2 ? topic : "hot");
          body += std::string(i ? "," : "") + R"({"topic":")" + topics.back() +
                  R"(","type":"t","data":)" + std::to_string(i) + "}";
        }
        auto ids = publish(d.port(), body + "]");
        EXPECT_EQ(ids.size(), topics.size());
        std::lock_guard lock(mutex);
        for (std::size_t i = 0; i < ids.size(); ++i) {
          committed[seq_of(ids[i])] = topics[i];
          high = std::max(high, seq_of(ids[i]));
        }
      }
      last = high;
    });
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 15000));
    SseStream s(d.port(), "/events?topic=hot&topic=" + topic);
    std::vector<std::uint64_t> got;
    const bool opened = s.read_head() == 200;
    const auto round_end = std::chrono::steady_clock::now() + 10s;
    while (opened && std::chrono::steady_clock::now() < round_end) {
      const auto high = last.load();
      if (high != 0 && !got.empty() && got.back() >= high) break;
      auto e = s.next_non_heartbeat(50ms);
      if (!e) continue;
      if (e->type == "t" && e->id) got.push_back(seq_of(*e->id));
      if (got.size() >= 50) joined = true;
    }
    joined = true;
    publisher.join();
    ASSERT_TRUE(opened) << "round " << rounds;
    ASSERT_FALSE(got.empty()) << "round " << rounds << ": nothing received";
    ASSERT_GE(got.back(), last.load()) << "round " << rounds << ": the stream stopped early";
    const std::set<std::uint64_t> received(got.begin(), got.end());
    ASSERT_EQ(received.size(), got.size()) << "round " << rounds << ": a duplicate";
    ASSERT_TRUE(std::is_sorted(got.begin(), got.end())) << "round " << rounds;
    std::lock_guard lock(mutex);
    for (auto it = committed.lower_bound(got.front()); it != committed.end(); ++it) {
      if (it->second != "hot" && it->second != topic) continue;
      ASSERT_TRUE(received.contains(it->first))
          << "round " << rounds << ": seq " << it->first << " (" << it->second
          << ") missing after the first event " << got.front();
    }
  }
  std::printf("%d rounds\n", rounds);
  EXPECT_TRUE(d.running());
}

}  // namespace
}  // namespace ssehub::test
