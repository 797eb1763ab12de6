#include "platform/deadline_scheduler.hpp"

namespace ssehub {

DeadlineScheduler::DeadlineScheduler() : thread_([this] { run(); }) {}

DeadlineScheduler::~DeadlineScheduler() {
  stop();
}

void DeadlineScheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    due_.clear();
    index_.clear();
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

std::uint64_t DeadlineScheduler::schedule(Clock::time_point when, std::function<void()> fn) {
  std::uint64_t id;
  bool earliest;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return 0;
    id = next_id_++;
    due_.emplace(std::make_pair(when, id), std::move(fn));
    index_.emplace(id, when);
    earliest = due_.begin()->first.second == id;
  }
  if (earliest) wake_.notify_all();
  return id;
}

void DeadlineScheduler::cancel(std::uint64_t id) {
  std::unique_lock lock(mutex_);
  auto it = index_.find(id);
  if (it != index_.end()) {
    due_.erase({it->second, id});
    index_.erase(it);
    return;
  }
  if (id == 0 || std::this_thread::get_id() == thread_.get_id()) return;
  finished_.wait(lock, [&] { return running_ != id; });
}

void DeadlineScheduler::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (due_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto first = due_.begin();
    // A copy: cancel() may erase the entry while this thread waits.
    const Clock::time_point when = first->first.first;
    if (Clock::now() < when) {
      wake_.wait_until(lock, when);
      continue;
    }
    auto fn = std::move(first->second);
    running_ = first->first.second;
    index_.erase(first->first.second);
    due_.erase(first);
    lock.unlock();
    fn();
    lock.lock();
    running_ = 0;
    finished_.notify_all();
  }
}

}  // namespace ssehub
