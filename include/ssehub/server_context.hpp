#pragma once
// What every session shares: configuration, metrics, the store, the bus and the
// server-wide flags. Owned by Server; outlives every session.

#include <atomic>
#include <memory>
#include <string>

#include "ssehub/config.hpp"
#include "ssehub/event_bus.hpp"
#include "ssehub/event_store.hpp"
#include "ssehub/metrics.hpp"

namespace ssehub {

class Hub;

struct ServerContext {
  Config config;
  Metrics metrics;
  std::unique_ptr<EventStore> store;
  std::unique_ptr<EventBus> bus;
  Hub* hub = nullptr;
  std::string replica_id;
  std::uint64_t max_connections = 0;  // effective: config capped by the descriptor limit
  std::atomic<bool> draining{false};

  struct Health {
    bool ready = false;
    std::string json;
  };
  Health health() const;

  // CORS response headers ("Name: value\r\n" lines) for an allowed origin, else empty.
  std::string cors_headers(std::string_view origin) const;
};

// Holds one unit of server.max_connections for as long as it lives.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  explicit ConnectionSlot(Metrics* m) : metrics_(m) {
    metrics_->connections_open.fetch_add(1, std::memory_order_relaxed);
  }
  ConnectionSlot(ConnectionSlot&& o) noexcept : metrics_(std::exchange(o.metrics_, nullptr)) {}
  ConnectionSlot& operator=(ConnectionSlot&& o) noexcept {
    release();
    metrics_ = std::exchange(o.metrics_, nullptr);
    return *this;
  }
  ~ConnectionSlot() { release(); }

 private:
  void release() {
    if (metrics_) metrics_->connections_open.fetch_sub(1, std::memory_order_relaxed);
    metrics_ = nullptr;
  }
  Metrics* metrics_ = nullptr;
};

}  // namespace ssehub
