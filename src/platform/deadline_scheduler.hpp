#pragma once
// Runs callbacks at deadlines on one thread of its own. The blocking store uses it
// to answer a caller at its deadline even while the call is still stuck (a paused
// database), and to interrupt that call.
//
// Threads: schedule() and cancel() from any thread; callbacks run on the scheduler
// thread, one at a time, with no lock held, and must be quick. Lifetime: the
// destructor stops the thread; callbacks not yet run are dropped.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace ssehub {

class DeadlineScheduler {
 public:
  using Clock = std::chrono::steady_clock;

  DeadlineScheduler();
  ~DeadlineScheduler();
  DeadlineScheduler(const DeadlineScheduler&) = delete;
  DeadlineScheduler& operator=(const DeadlineScheduler&) = delete;

  // Returns 0 (and drops `fn`) once stopped.
  std::uint64_t schedule(Clock::time_point when, std::function<void()> fn);
  // The callback will not run. If it has started, waits until it has returned
  // (unless called from the callback itself), so a deadline of a call that
  // already ended cannot act on the next one.
  void cancel(std::uint64_t id);
  // Joins the thread; callbacks not yet run are dropped. Idempotent.
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable finished_;
  std::uint64_t running_ = 0;  // the id of the callback now running, or 0
  std::map<std::pair<Clock::time_point, std::uint64_t>, std::function<void()>> due_;
  std::unordered_map<std::uint64_t, Clock::time_point> index_;
  std::uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ssehub
