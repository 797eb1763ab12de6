#pragma once
// Drives a SubscriberMachine the way RedisBus does, against a store held in
// memory, for the machine's unit tests.

#include <algorithm>
#include <string>
#include <vector>

#include "bus/redis/redis_protocol.hpp"
#include "bus/redis/subscriber_machine.hpp"

namespace ssehub::subscriber_test {

using namespace std::chrono_literals;
using sub::Clock;

inline const std::string kHeads = "ssehub:heads";
inline const std::string kSentinel = "ssehub:sentinel:r1";

inline Event ev(std::uint64_t seq, std::string topic = "a") {
  Event e;
  e.id = "E-" + std::to_string(seq);
  e.seq = seq;
  e.topic = std::move(topic);
  e.type = "t";
  e.data = "1";
  return e;
}

inline std::string channel(const std::string& topic) {
  return redis::topic_channel("ssehub", topic);
}

inline sub::Reply message(const Event& e) {
  return {"message", channel(e.topic), redis::encode_event(e)};
}
inline sub::Reply notice(std::uint64_t base, std::uint64_t head) {
  return {"message", kHeads, redis::encode_heads({base, head})};
}
inline sub::Reply confirm(const std::string& ch, const char* kind = "subscribe") {
  return {kind, ch, ""};
}

template <class T>
std::vector<T> all_of(const sub::Actions& actions) {
  std::vector<T> out;
  for (const auto& a : actions) {
    if (auto* x = std::get_if<T>(&a)) out.push_back(*x);
  }
  return out;
}

// Feeds the machine and does what it answers: recoveries and head checks are
// answered at once from `store`.
struct Harness {
  explicit Harness(SubscriberOptions o = options()) : m(std::move(o)) {}

  static SubscriberOptions options() {
    SubscriberOptions o;
    o.replica = "r1";
    o.sentinel_interval = 0ms;
    o.recovery_limit = 100;
    o.jitter = [] { return 0.0; };
    return o;
  }

  sub::Actions feed(const sub::Input& in) {
    sub::Actions out = m.resume(in, now);
    sub::Actions all;
    for (auto& a : out) {
      all.push_back(a);
      sub::Actions more;
      if (auto* r = std::get_if<sub::Recover>(&a)) {
        ++recoveries;
        more = feed(read_store(r->after, r->topics));
      } else if (std::get_if<sub::ReadStoreHead>(&a)) {
        more = feed(sub::StoreHead{store.empty() ? 0 : store.back().seq});
      } else if (std::get_if<sub::ReadBacklog>(&a)) {
        more = feed(sub::BacklogRead{});
      } else if (auto* d = std::get_if<sub::Deliver>(&a)) {
        for (const auto& e : *d->batch) delivered.push_back(e);
      } else if (auto* rel = std::get_if<sub::Release>(&a)) {
        for (auto& f : rel->streams) f();
      } else if (auto* g = std::get_if<sub::SignalGap>(&a)) {
        gaps.push_back(g->head);
      }
      all.insert(all.end(), more.begin(), more.end());
    }
    return all;
  }

  sub::Recovered read_store(std::uint64_t after, const std::vector<std::string>& topics) {
    sub::Recovered r;
    r.window.epoch = "E";
    r.window.head_seq = store.empty() ? 0 : store.back().seq;
    for (const auto& e : store) {
      if (e.seq <= after || std::find(topics.begin(), topics.end(), e.topic) == topics.end()) {
        continue;
      }
      ++r.found;
      if (r.found <= 100) r.events.push_back(e);
    }
    if (r.found > 100) r.events.clear();
    return r;
  }

  // Start, connect and confirm every channel of the SUBSCRIBE.
  void connect(std::uint64_t head = 0) {
    if (m.phase() == SubscriberMachine::Phase::idle) feed(sub::Start{head});
    auto sends = all_of<sub::Send>(feed(sub::Opened{}));
    ASSERT_EQ(sends.size(), 1u);
    const auto& cmd = sends[0].commands.at(0);
    for (std::size_t i = 1; i < cmd.size(); ++i) feed(confirm(cmd[i]));
    ASSERT_EQ(m.phase(), SubscriberMachine::Phase::serving);
  }

  std::vector<std::uint64_t> delivered_seqs() const {
    std::vector<std::uint64_t> out;
    for (const auto& e : delivered) out.push_back(e.seq);
    return out;
  }

  SubscriberMachine m;
  sub::Now now{Clock::time_point{} + 1h, 1'000'000};
  std::vector<Event> store;
  std::vector<Event> delivered;
  std::vector<std::uint64_t> gaps;
  int recoveries = 0;
};

using Seqs = std::vector<std::uint64_t>;

}  // namespace ssehub::subscriber_test
