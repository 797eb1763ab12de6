#pragma once
// The fan-out. Each reactor thread (Worker) keeps its own topic -> streams registry,
// touched only by that thread, so fan-out takes no lock on it: the hub encodes
// each event's SSE frame once and queues the batch in every worker's inbox, which
// hands it to its local subscribers. Queueing in bus order keeps per-stream
// delivery in id order.
//
// Threads: dispatch() from any thread; topic_joined/left from reactor threads.

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "bus/event_bus.hpp"
#include "core/event.hpp"

namespace ssehub {

class Worker;

// One batch as one worker receives it: each event framed once, the frame shared
// by every stream of that worker it goes to.
struct FanoutBatch {
  EventBatchPtr events;
  std::vector<std::uint32_t> picks;  // the events of `events` for this worker, in order
  std::vector<std::shared_ptr<const std::string>> frames;  // frames[k] for events[picks[k]]
  // A gap signal instead of events: streams that may have missed events up to
  // gap_resume get `replay-truncated` (see GapSink).
  std::uint64_t gap_resume = 0;
  std::string gap_epoch;
};

// How far the most loaded worker's fan-out is behind (waiting in its inbox).
struct FanoutBacklog {
  std::size_t events = 0;
  std::size_t bytes = 0;
};

// A publish is refused (503) past `max_events` waiting, or past half of a
// worker's inbox bound (large events fill it long before the count).
constexpr bool fanout_backlogged(const FanoutBacklog& b, std::size_t max_events,
                                 std::size_t max_inbox_bytes) {
  return b.events >= max_events || b.bytes >= max_inbox_bytes / 2;
}

// Which workers have a subscriber of each topic (for the bus's first and last).
using TopicWorkers = std::unordered_map<std::string, std::vector<bool>>;

class Hub {
 public:
  explicit Hub(EventBus& bus) : bus_(bus) {}

  void set_workers(std::vector<Worker*> workers) { workers_ = std::move(workers); }
  void dispatch(const EventBatchPtr& batch);
  // In order with dispatch(): every stream learns that live events up to
  // `resume_seq` could not be delivered.
  void signal_gap(const std::string& epoch, std::uint64_t resume_seq);

  // Worker `worker` gained its first / lost its last subscriber of `topic`; the
  // bus hears about the replica's first and last.
  void topic_joined(std::size_t worker, const std::string& topic);
  void topic_left(std::size_t worker, const std::string& topic);
  std::size_t topic_count() const;
  // Any thread.
  FanoutBacklog fanout_backlog() const;

 private:
  EventBus& bus_;
  std::vector<Worker*> workers_;
  mutable std::mutex mutex_;
  TopicWorkers topic_workers_;
};

}  // namespace ssehub
