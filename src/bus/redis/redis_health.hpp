#pragma once
// How the Redis bus reports itself: the `bus` object of /health and its
// Prometheus metrics, from a snapshot of the subscriber and the publisher's
// counters. Pure.

#include <cstdint>
#include <string>

#include "bus/redis/subscriber_machine.hpp"

namespace ssehub {

struct PublisherCounts {
  std::uint64_t published = 0;
  std::uint64_t failures = 0;
};

std::string redis_health_json(const SubscriberHealth& h);
void render_redis_metrics(const SubscriberHealth& h, const PublisherCounts& p, std::string& out);

}  // namespace ssehub
