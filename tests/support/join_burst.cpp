#include "join_burst.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace ssehub::test {
namespace {

using Clock = std::chrono::steady_clock;

// One round's publisher: batches of 400 events alternating `hot` and `topic`,
// until the round's streams are open (then two more), at most 300 batches.
class BurstPublisher {
 public:
  BurstPublisher(std::uint16_t port, std::string topic,
                 std::map<std::uint64_t, std::string>& committed, std::mutex& mutex)
      : thread_([this, port, topic = std::move(topic), &committed, &mutex] {
          run(port, topic, committed, mutex);
        }) {}
  ~BurstPublisher() { finish(); }
  void streams_open() { open_ = true; }
  // 0 until the burst is over; then the highest seq it published.
  std::uint64_t last() const { return last_; }
  void finish() {
    open_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run(std::uint16_t port, const std::string& topic,
           std::map<std::uint64_t, std::string>& committed, std::mutex& mutex) {
    std::uint64_t high = 0;
    for (int b = 0, after = 0; b < 300 && after < 2; ++b, after += open_ ? 1 : 0) {
      std::string body = "[";
      std::vector<std::string> topics;
      for (int i = 0; i < 400; ++i) {
        topics.push_back(i % 2 ? topic : "hot");
        body += std::string(i ? "," : "") + R"({"topic":")" + topics.back() +
                R"(","type":"t","data":)" + std::to_string(i) + "}";
      }
      auto ids = publish(port, body + "]");
      EXPECT_EQ(ids.size(), topics.size());
      std::lock_guard lock(mutex);
      for (std::size_t i = 0; i < ids.size(); ++i) {
        committed[seq_of(ids[i])] = topics[i];
        high = std::max(high, seq_of(ids[i]));
      }
    }
    last_ = high;
  }

  std::atomic<bool> open_{false};
  std::atomic<std::uint64_t> last_{0};
  std::thread thread_;
};

// Reads `s` until it has received `last` (known once the burst is over).
std::vector<std::uint64_t> read_through(SseStream& s, const BurstPublisher& burst) {
  std::vector<std::uint64_t> got;
  const auto end = Clock::now() + 30s;  // generous: a loaded machine (sanitizers, -j2)
  while (Clock::now() < end) {
    const auto last = burst.last();
    if (last != 0 && !got.empty() && got.back() >= last) break;
    auto e = s.next_non_heartbeat(50ms);
    if (e && e->type == "t" && e->id) got.push_back(seq_of(*e->id));
  }
  return got;
}

// Streams on `hot` that read and drop everything until destroyed.
class Holders {
 public:
  Holders(std::uint16_t port, int n) {
    for (int i = 0; i < n; ++i) {
      streams_.push_back(std::make_unique<SseStream>(port, "/events?topic=hot"));
      EXPECT_EQ(streams_.back()->read_head(), 200);
    }
    thread_ = std::thread([this] {
      std::vector<pollfd> fds;
      for (auto& s : streams_) fds.push_back({s->fd(), POLLIN, 0});
      char buf[65536];
      while (!stop_) {
        if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
        for (auto& p : fds) {
          if (p.revents & (POLLIN | POLLHUP | POLLERR) && ::read(p.fd, buf, sizeof buf) <= 0) {
            p.fd = -1;  // closed: poll ignores it from now on
          }
        }
      }
    });
  }
  ~Holders() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::vector<std::unique_ptr<SseStream>> streams_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

void check_joins_mid_burst(const JoinBurst& o) {
  const unsigned seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  Holders holders(o.stream_port, o.holders);
  std::map<std::uint64_t, std::string> committed;  // seq -> topic, every round so far
  std::mutex mutex;
  const auto budget = Clock::now() + o.budget;
  int round = 0;
  for (; round < o.max_rounds && Clock::now() < budget; ++round) {
    const std::string topic = "join-" + std::to_string(round);
    BurstPublisher burst(o.publish_port, topic, committed, mutex);
    std::vector<std::unique_ptr<SseStream>> streams;
    for (int i = 0; i < o.streams; ++i) {
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 15000));
      streams.push_back(
          std::make_unique<SseStream>(o.stream_port, "/events?topic=hot&topic=" + topic));
    }
    for (auto& s : streams) EXPECT_EQ(s->read_head(), 200) << "round " << round;
    burst.streams_open();
    std::vector<std::vector<std::uint64_t>> received;
    for (auto& s : streams) received.push_back(read_through(*s, burst));
    burst.finish();
    std::lock_guard lock(mutex);
    for (std::size_t i = 0; i < received.size(); ++i) {
      const auto& got = received[i];
      const std::string what = "round " + std::to_string(round) + " stream " + std::to_string(i);
      ASSERT_FALSE(got.empty()) << what << ": nothing received";
      ASSERT_GE(got.back(), burst.last()) << what << ": the stream stopped early";
      const std::set<std::uint64_t> seqs(got.begin(), got.end());
      ASSERT_EQ(seqs.size(), got.size()) << what << ": a duplicate";
      ASSERT_TRUE(std::is_sorted(got.begin(), got.end())) << what << ": out of order";
      for (auto it = committed.lower_bound(got.front()); it != committed.end(); ++it) {
        if (it->second != "hot" && it->second != topic) continue;
        ASSERT_TRUE(seqs.contains(it->first))
            << what << ": seq " << it->first << " (" << it->second
            << ") missing after the first event " << got.front() << "\n"
            << (o.log ? o.log() : "");
      }
    }
  }
  std::printf("%d rounds\n", round);
}

}  // namespace ssehub::test
