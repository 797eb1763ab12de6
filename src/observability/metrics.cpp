#include "observability/metrics.hpp"

#include <cstdio>

namespace ssehub {
namespace {

constexpr unsigned kErrorStatuses[] = {400, 401, 403, 404, 405, 413, 414, 415, 429, 431, 500, 503};

void line(std::string& out, const std::string& name, const std::string& type,
          const std::string& help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

template <typename T>
void metric(std::string& out, const std::string& name, const std::string& type,
            const std::string& help, T value) {
  line(out, name, type, help);
  out += name + " " + std::to_string(value) + "\n";
}

}  // namespace

void append_metric(std::string& out, const std::string& name, const std::string& type,
                   const std::string& help, double value) {
  line(out, name, type, help);
  out += name + " " + num(value) + "\n";
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(bounds_.size() + 1) {}

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  bump(buckets_[i]);
  bump(count_);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + value, std::memory_order_relaxed)) {
  }
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  line(out, name, "histogram", help);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = i < bounds_.size() ? num(bounds_[i]) : "+Inf";
    out += name + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_sum " + num(sum_.load(std::memory_order_relaxed)) + "\n";
  out += name + "_count " + std::to_string(count_.load(std::memory_order_relaxed)) + "\n";
}

Metrics::Metrics()
    : replay_seconds({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}),
      publish_seconds({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}),
      publish_batch_size({1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}) {}

void Metrics::count_replay(const ReplayDecision& d) {
  std::size_t index = 0;
  if (d.kind == ReplayDecision::Kind::truncated) index = 1 + static_cast<std::size_t>(d.truncation);
  if (d.kind == ReplayDecision::Kind::failed) index = 4 + static_cast<std::size_t>(d.failure);
  bump(replay_outcomes[index]);
}

void Metrics::count_http_error(unsigned status) {
  for (std::size_t i = 0; i < std::size(kErrorStatuses); ++i) {
    if (kErrorStatuses[i] == status) return bump(http_errors[i]);
  }
}

std::string Metrics::render(const std::function<void(std::string&)>& extra) const {
  auto get = [](const Counter& c) { return c.load(std::memory_order_relaxed); };
  std::uint64_t deliveries = 0, bytes = 0, heartbeats = 0;
  for (auto* w : workers) {
    deliveries += get(w->deliveries);
    bytes += get(w->bytes_written);
    heartbeats += get(w->heartbeats);
  }
  std::string out;
  out.reserve(4096);
  metric(out, "ssehub_connections_open", "gauge", "Open TCP connections.",
         connections_open.load(std::memory_order_relaxed));
  metric(out, "ssehub_connections_total", "counter", "Accepted TCP connections.",
         get(connections_total));
  metric(out, "ssehub_streams_open", "gauge", "Open event streams.",
         streams_open.load(std::memory_order_relaxed));
  metric(out, "ssehub_streams_total", "counter", "Event streams opened.", get(streams_total));
  metric(out, "ssehub_events_published_total", "counter", "Events accepted by /publish.",
         get(events_published));
  metric(out, "ssehub_publish_requests_total", "counter", "Requests to /publish.",
         get(publish_requests));
  metric(out, "ssehub_publish_failures_total", "counter", "Publishes the store refused (503).",
         get(publish_failures));
  metric(out, "ssehub_event_deliveries_total", "counter", "Event frames queued to streams.",
         deliveries);
  metric(out, "ssehub_bytes_written_total", "counter", "Bytes written to streams.", bytes);
  metric(out, "ssehub_heartbeats_sent_total", "counter", "Heartbeat events queued.", heartbeats);
  metric(out, "ssehub_slow_consumer_disconnects_total", "counter",
         "Streams closed because their queue passed stream.queue_limit_bytes.",
         get(slow_consumer_disconnects));
  metric(out, "ssehub_handoff_overflows_total", "counter",
         "Streams closed because live events held during replay passed the queue limit.",
         get(handoff_overflows));
  metric(out, "ssehub_fanout_inbox_overflows_total", "counter",
         "Times a worker fell too far behind its fan-out; its streams were told of the gap.",
         get(inbox_overflows));
  metric(out, "ssehub_publish_backlog_refusals_total", "counter",
         "Publishes refused with 503 because a worker's fan-out was stream.max_fanout_backlog "
         "events behind.",
         get(publish_backlog_refusals));
  metric(out, "ssehub_capacity_rejections_total", "counter",
         "Requests refused with 503 at server.max_connections or while draining.",
         get(capacity_rejections));
  metric(out, "ssehub_request_timeouts_total", "counter",
         "Connections closed because a request head or body was not read in time.",
         get(request_timeouts));

  line(out, "ssehub_replay_outcomes_total", "counter", "Replay decisions by outcome and reason.");
  static const char* kOutcome[] = {"deliver", "truncated", "truncated", "truncated",
                                   "failed",  "failed",    "failed",    "failed"};
  static const char* kReason[] = {"none",    "limit",       "expired", "unknown-id",
                                  "timeout", "unavailable", "busy",    "error"};
  for (std::size_t i = 0; i < replay_outcomes.size(); ++i) {
    out += std::string("ssehub_replay_outcomes_total{outcome=\"") + kOutcome[i] + "\",reason=\"" +
           kReason[i] + "\"} " + std::to_string(get(replay_outcomes[i])) + "\n";
  }
  line(out, "ssehub_http_errors_total", "counter", "Error responses by status.");
  for (std::size_t i = 0; i < std::size(kErrorStatuses); ++i) {
    out += "ssehub_http_errors_total{status=\"" + std::to_string(kErrorStatuses[i]) + "\"} " +
           std::to_string(get(http_errors[i])) + "\n";
  }
  replay_seconds.render(out, "ssehub_replay_duration_seconds", "Replay query latency.");
  publish_seconds.render(out, "ssehub_publish_duration_seconds", "Publish latency in the store.");
  publish_batch_size.render(out, "ssehub_publish_batch_size", "Events per store append.");
  if (extra) extra(out);
  return out;
}

}  // namespace ssehub
