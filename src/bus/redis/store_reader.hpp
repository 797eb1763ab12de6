#pragma once
// What the Redis subscriber reads from the Postgres store, the source of truth:
// the head when live delivery starts, the head at every store check, and the
// events after a mark on a set of topics, bounded by replay.limit. Every call has
// a deadline (PgLink::guarded), so a stopped database cannot hold the subscriber
// thread. pqxx stays behind this header.
//
// Threads: the subscriber thread; interrupt() from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus/redis/subscriber_machine.hpp"

namespace ssehub {

class StoreReader {
 public:
  StoreReader(const std::string& postgres_url, std::size_t limit,
              std::chrono::milliseconds timeout);
  ~StoreReader();

  // The epoch and head seq; throws std::runtime_error naming the cause.
  std::uint64_t read_head_and_epoch();
  const std::string& epoch() const { return epoch_; }
  // The head seq, or nullopt when the store cannot be read now.
  std::optional<std::uint64_t> head();
  // Up to limit + 1 events after `after` on `topics`, with the window; throws
  // std::runtime_error naming the cause.
  sub::Recovered read_after(std::uint64_t after, const std::vector<std::string>& topics);
  // Ends the call in progress, for shutdown.
  void interrupt();

 private:
  struct Link;
  std::unique_ptr<Link> link_;
  std::size_t limit_;
  std::chrono::milliseconds timeout_;
  std::string epoch_;
};

}  // namespace ssehub
