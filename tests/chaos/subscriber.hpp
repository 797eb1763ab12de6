#pragma once
// A logical subscriber: the body of one thread that holds a stream to a random
// replica, reconnects at random moments (and whenever its stream ends or goes
// silent) to a random replica with its Last-Event-ID, and records everything it
// reads. Its history is read after the thread ends; held() and anchored() are what
// the main thread watches while the subscribers drain.

#include <algorithm>
#include <atomic>

#include "context.hpp"
#include "history.hpp"
#include "schedule.hpp"

namespace ssehub::chaos {

class Subscriber {
 public:
  Subscriber(int id, std::vector<std::string> topics, bool slow, const RunContext& ctx, Rng rng);
  void run(const Control& control);

  // Where the next connection resumes: the last seq held (an event's or a
  // replay-truncated's), or the start mark before any; 0 before both.
  Seq position() const { return std::max(held_.load(), start_.load()); }
  // True once the start mark is set.
  bool anchored() const { return anchored_.load(); }
  bool slow() const { return slow_; }

  SubscriberHistory history;
  std::size_t refused = 0;  // connection attempts without a 200 stream

 private:
  // One stream, until it ends or it is time to reconnect.
  void hold_stream(const Control& control);
  void take(const std::optional<std::string>& id, const std::string& type, const std::string& data,
            Connection& conn);

  bool slow_;
  const RunContext& ctx_;
  Rng rng_;
  std::string target_;
  std::string last_id_;  // sent as Last-Event-ID on the next connection
  std::atomic<Seq> held_{0};
  std::atomic<Seq> start_{0};
  std::atomic<bool> anchored_{false};
};

}  // namespace ssehub::chaos
