#include "reconnect_chaos.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "test_support.hpp"

namespace ssehub::test {

using json = nlohmann::json;

void check_reconnect_chaos(const std::vector<std::uint16_t>& ports) {
  const std::vector<std::string> topics = {"t0", "t1", "t2"};
  constexpr int kPublishers = 4, kBatches = 60, kSubscribers = 6;

  std::mutex ids_mutex;
  std::map<std::string, std::set<std::string>> published;  // topic -> ids
  std::atomic<int> publishers_done{0};
  std::atomic<int> subscribers_ready{0};  // a first connection has no Last-Event-ID to replay
  std::vector<std::thread> pubs;
  for (int p = 0; p < kPublishers; ++p) {
    pubs.emplace_back([&, p] {
      ASSERT_TRUE(eventually([&] { return subscribers_ready == kSubscribers; }, 10000ms));
      std::mt19937 rng(p);
      for (int b = 0; b < kBatches; ++b) {
        json batch = json::array();
        int n = 1 + rng() % 5;
        std::vector<std::string> batch_topics;
        for (int i = 0; i < n; ++i) {
          auto& t = topics[rng() % topics.size()];
          batch_topics.push_back(t);
          batch.push_back({{"topic", t}, {"type", "t"}, {"data", {{"p", p}, {"b", b}}}});
        }
        auto ids = publish(ports[(p + b) % ports.size()], batch.dump());
        ASSERT_EQ(ids.size(), batch_topics.size());
        std::lock_guard lock(ids_mutex);
        for (std::size_t i = 0; i < ids.size(); ++i) published[batch_topics[i]].insert(ids[i]);
        std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 4));
      }
      ++publishers_done;
    });
  }

  struct Result {
    std::vector<std::string> ids;
    std::vector<std::size_t> connection_starts;  // index into ids where each connection began
    std::vector<std::string> topics;
    int reconnects = 0;
    std::string error;
  };
  std::vector<Result> results(kSubscribers);
  std::vector<std::thread> subs;
  for (int s = 0; s < kSubscribers; ++s) {
    subs.emplace_back([&, s] {
      std::mt19937 rng(100 + s);
      Result& r = results[s];
      r.topics = {topics[s % 3], topics[(s + 1) % 3]};
      std::string target = "/events?topic=" + r.topics[0] + "&topic=" + r.topics[1];
      std::string last;
      bool first = true;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (std::chrono::steady_clock::now() < deadline) {
        std::map<std::string, std::string> headers;
        if (!last.empty()) headers["Last-Event-ID"] = last;
        SseStream stream(ports[rng() % ports.size()], target, headers);
        if (stream.read_head() != 200) {
          r.error = "stream refused";
          return;
        }
        if (first) {
          if (!stream.next(5000ms)) {
            r.error = "no ready event";
            return;
          }
          ++subscribers_ready;
        } else {
          ++r.reconnects;
        }
        first = false;
        r.connection_starts.push_back(r.ids.size());
        int budget = 5 + rng() % 40;  // events before the next reconnect
        while (budget > 0) {
          auto e = stream.next_non_heartbeat(1000ms);
          if (!e) break;
          if (e->type == "replay-truncated" || e->type == "replay-failed") {
            r.error = "unexpected " + e->type;
            return;
          }
          if (!e->id || e->type != "t") continue;
          if (!r.ids.empty() && seq_of(*e->id) <= seq_of(r.ids.back())) {
            r.error = "id did not increase: " + r.ids.back() + " then " + *e->id;
            return;
          }
          r.ids.push_back(*e->id);
          last = *e->id;
          --budget;
        }
        if (publishers_done == kPublishers && budget > 0) {
          // Nothing more arrived within a second after publishing ended: done.
          return;
        }
      }
      r.error = "did not finish in time";
    });
  }
  for (auto& t : pubs) t.join();
  for (auto& t : subs) t.join();

  for (int s = 0; s < kSubscribers; ++s) {
    const Result& r = results[s];
    ASSERT_TRUE(r.error.empty()) << "subscriber " << s << ": " << r.error;
    std::set<std::string> expected;
    for (auto& t : r.topics) expected.insert(published[t].begin(), published[t].end());
    std::set<std::string> got(r.ids.begin(), r.ids.end());
    EXPECT_EQ(got.size(), r.ids.size()) << "duplicates for subscriber " << s;
    std::vector<std::string> missing, extra;
    std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(),
                        std::back_inserter(missing));
    std::set_difference(got.begin(), got.end(), expected.begin(), expected.end(),
                        std::back_inserter(extra));
    std::string where;
    for (auto& m : missing) {
      auto it = std::lower_bound(r.ids.begin(), r.ids.end(), m,
                                 [](auto& a, auto& b) { return seq_of(a) < seq_of(b); });
      std::size_t pos = it - r.ids.begin();
      bool boundary = std::find(r.connection_starts.begin(), r.connection_starts.end(), pos) !=
                      r.connection_starts.end();
      where += " " + m + (boundary ? "@reconnect" : "@live");
    }
    EXPECT_TRUE(missing.empty() && extra.empty())
        << where << "\n"
        << "subscriber " << s << " after " << r.reconnects << " reconnects: " << missing.size()
        << " missing (first " << (missing.empty() ? "-" : missing.front()) << "), " << extra.size()
        << " unexpected (first " << (extra.empty() ? "-" : extra.front()) << "), last received "
        << (r.ids.empty() ? "-" : r.ids.back()) << ", newest expected "
        << (expected.empty()
                ? "-"
                : *std::max_element(expected.begin(), expected.end(),
                                    [](auto& a, auto& b) { return seq_of(a) < seq_of(b); }));
    EXPECT_GT(r.reconnects, 2) << "subscriber " << s;
  }
}

}  // namespace ssehub::test
