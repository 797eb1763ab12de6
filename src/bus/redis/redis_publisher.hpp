#pragma once
// Publishing to Redis, inside the store's ordered section: for each batch one
// message per event on its topic channel and then a notice on `<prefix>:heads`
// ({"base","head"}), pipelined, so Redis sees batches in id order and a notice
// only after all of its batch. A publish that fails (Redis down, or the
// connection lost mid-batch) is skipped, and for kBackoff the next ones are too:
// the events are durable, and subscribers recover them from the store.
//
// Threads: publish() from the store's publisher thread; the counters from any.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "bus/event_bus.hpp"
#include "bus/redis/redis_connection.hpp"
#include "observability/metrics.hpp"

namespace ssehub {

class RedisPublisher {
 public:
  static constexpr std::chrono::milliseconds kBackoff{1000};

  RedisPublisher(redis::Endpoint endpoint, std::string prefix, std::chrono::milliseconds timeout)
      : endpoint_(std::move(endpoint)), prefix_(std::move(prefix)), timeout_(timeout) {}

  void publish(const EventBatch& batch);

  std::uint64_t published() const { return published_.load(); }
  std::uint64_t failures() const { return failures_.load(); }

 private:
  const redis::Endpoint endpoint_;
  const std::string prefix_;
  const std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::unique_ptr<RedisConnection> conn_;
  std::chrono::steady_clock::time_point retry_at_{};
  Counter published_{0}, failures_{0};
};

}  // namespace ssehub
