#include "bus/redis/redis_health.hpp"

#include <nlohmann/json.hpp>

#include "observability/metrics.hpp"

namespace ssehub {

std::string redis_health_json(const SubscriberHealth& h) {
  using json = nlohmann::json;
  const auto& rtt = h.sentinel_round_trip;
  json j = {
      {"kind", "redis"},
      {"state", to_string(h.state)},
      {"since", h.since_ms},
      {"sentinel",
       {{"enabled", h.sentinel_enabled},
        {"healthy", h.sentinel_healthy},
        {"lastRoundTripMs", rtt ? json(static_cast<double>(rtt->count()) / 1000.0) : json(nullptr)},
        {"lastAt", h.sentinel_at_ms == 0 ? json(nullptr) : json(h.sentinel_at_ms)},
        {"misses", h.sentinel_misses}}},
      {"subscribedTopics", h.topics},
      {"lastError", h.last_error.empty() ? json(nullptr) : json(h.last_error)},
  };
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void render_redis_metrics(const SubscriberHealth& h, const PublisherCounts& p, std::string& out) {
  out +=
      "# HELP ssehub_redis_subscriber_state 1 for the subscriber's current state.\n"
      "# TYPE ssehub_redis_subscriber_state gauge\n";
  for (auto s : {SubscriberState::closed, SubscriberState::connecting, SubscriberState::ready,
                 SubscriberState::reconnecting}) {
    out += "ssehub_redis_subscriber_state{state=\"" + std::string(to_string(s)) + "\"} " +
           (s == h.state ? "1" : "0") + "\n";
  }
  append_metric(out, "ssehub_redis_subscribed_topics", "gauge",
                "Topic channels this replica is subscribed to.", static_cast<double>(h.topics));
  append_metric(out, "ssehub_redis_sentinel_healthy", "gauge",
                "1 while sentinel probes come back in time.", h.sentinel_healthy ? 1 : 0);
  const double rtt = h.sentinel_round_trip ? h.sentinel_round_trip->count() / 1e6 : 0;
  append_metric(out, "ssehub_redis_sentinel_round_trip_seconds", "gauge",
                "Round trip of the last sentinel probe.", rtt);
  append_metric(out, "ssehub_redis_sentinel_misses_total", "counter",
                "Sentinel probes not received in time.", h.sentinel_misses);
  append_metric(out, "ssehub_redis_reconnects_total", "counter", "Subscriber reconnects.",
                h.reconnects);
  append_metric(out, "ssehub_redis_messages_total", "counter", "Messages received.", h.messages);
  append_metric(out, "ssehub_redis_malformed_messages_total", "counter",
                "Messages dropped as malformed.", h.malformed);
  append_metric(out, "ssehub_redis_recovered_events_total", "counter",
                "Events recovered from the store that Redis did not bring.", h.recovered);
  append_metric(out, "ssehub_redis_gaps_total", "counter",
                "Gaps detected (missed batches, recoveries past the bound).", h.gaps);
  append_metric(out, "ssehub_redis_published_events_total", "counter", "Events published to Redis.",
                p.published);
  append_metric(out, "ssehub_redis_publish_failures_total", "counter",
                "Batches not published to Redis (recovered from the store).", p.failures);
}

}  // namespace ssehub
