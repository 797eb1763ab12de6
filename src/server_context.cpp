#include "server_context.hpp"

#include <nlohmann/json.hpp>

#include "stream/hub.hpp"

namespace ssehub {

HealthReport ServerContext::health() const {
  using json = nlohmann::json;
  bool draining_now = draining.load();
  bool store_ready = store->ready();
  bool bus_ready = bus->ready();
  HealthReport h;
  h.ready = !draining_now && store_ready && bus_ready;
  json body = {
      {"status", h.ready ? "ready" : "not-ready"},
      {"replica", replica_id},
      {"draining", draining_now},
      {"store", json::parse(store->health_json())},
      {"bus", json::parse(bus->health_json())},
      {"streams", metrics.streams_open.load(std::memory_order_relaxed)},
      {"connections", metrics.connections_open.load(std::memory_order_relaxed)},
      {"maxConnections", max_connections},
      {"topics", hub ? hub->topic_count() : 0},
  };
  h.json = body.dump();
  return h;
}

}  // namespace ssehub
