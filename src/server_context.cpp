#include "ssehub/server_context.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ssehub/hub.hpp"

namespace ssehub {

ServerContext::Health ServerContext::health() const {
  using json = nlohmann::json;
  bool draining_now = draining.load();
  bool store_ready = store->ready();
  bool bus_ready = bus->ready();
  Health h;
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

std::string ServerContext::cors_headers(std::string_view origin) const {
  if (origin.empty()) return {};
  const auto& allowed = config.server.cors_origins;
  if (std::find(allowed.begin(), allowed.end(), origin) == allowed.end()) return {};
  return "Access-Control-Allow-Origin: " + std::string(origin) +
         "\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n";
}

}  // namespace ssehub
