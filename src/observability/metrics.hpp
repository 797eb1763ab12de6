#pragma once
// Counters, gauges and histograms rendered in the Prometheus text format.
//
// Threads: every member is an atomic updated with relaxed ordering. Hot-path
// counters (deliveries, bytes) live in per-worker WorkerCounters so that reactor
// threads never write the same cache line.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/replay_decision.hpp"

namespace ssehub {

using Counter = std::atomic<std::uint64_t>;

inline void bump(Counter& c, std::uint64_t n = 1) {
  c.fetch_add(n, std::memory_order_relaxed);
}

// For counters only one thread writes (WorkerCounters): no locked instruction.
inline void bump_owned(Counter& c, std::uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<Counter> buckets_;  // one per bound, plus +Inf
  std::atomic<double> sum_{0};
  Counter count_{0};
};

// One counter or gauge sample with its HELP and TYPE lines, for component series.
void append_metric(std::string& out, const std::string& name, const std::string& type,
                   const std::string& help, double value);

// Written only by the owning worker thread (bump_owned); read by /metrics.
struct alignas(64) WorkerCounters {
  Counter deliveries{0};
  Counter bytes_written{0};
  Counter heartbeats{0};
};

struct Metrics {
  Metrics();

  Counter connections_total{0};
  std::atomic<std::int64_t> connections_open{0};
  Counter streams_total{0};
  std::atomic<std::int64_t> streams_open{0};
  Counter events_published{0};
  Counter publish_requests{0};
  Counter publish_failures{0};
  Counter slow_consumer_disconnects{0};
  Counter handoff_overflows{0};
  Counter inbox_overflows{0};           // a worker's fan-out inbox past its bound
  Counter publish_backlog_refusals{0};  // publishes refused: fan-out too far behind
  Counter capacity_rejections{0};
  Counter request_timeouts{0};
  // Index: 0 deliver, then truncated by TruncationReason, then failed by FailureReason.
  std::array<Counter, 8> replay_outcomes{};
  std::array<Counter, 16> http_errors{};  // by status, see kErrorStatuses

  Histogram replay_seconds;
  Histogram publish_seconds;
  Histogram publish_batch_size;

  std::vector<const WorkerCounters*> workers;

  void count_replay(const ReplayDecision& d);
  void count_http_error(unsigned status);

  // `extra` appends component gauges (store, bus) to the text.
  std::string render(const std::function<void(std::string&)>& extra) const;
};

}  // namespace ssehub
