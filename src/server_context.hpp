#pragma once
// What the server owns and shares: configuration, metrics, the store, the bus and
// the server-wide flags. Owned by Server; outlives every session. The server, the
// listener and the workers see it; the sessions do not: a worker hands its HTTP
// sessions HttpDeps and its event streams StreamDeps, the few narrow things each
// uses.

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "auth/principal.hpp"
#include "auth/subject_limits.hpp"
#include "bus/event_bus.hpp"
#include "core/config.hpp"
#include "http/cors.hpp"
#include "observability/metrics.hpp"
#include "store/event_store.hpp"

namespace ssehub {

class Hub;

struct HealthReport {
  bool ready = false;
  std::string json;
};

struct ServerContext {
  explicit ServerContext(Config c)
      : config(std::move(c)),
        subjects(config.stream.max_connections_per_subject),
        cors(config.server.cors_origins) {}

  Config config;
  Metrics metrics;
  std::unique_ptr<EventStore> store;
  std::unique_ptr<EventBus> bus;
  Hub* hub = nullptr;
  std::string replica_id;
  std::uint64_t max_connections = 0;  // effective: config capped by the descriptor limit
  std::atomic<bool> draining{false};
  Authenticator auth;  // auth.mode jwt: set at start-up
  SubjectLimits subjects;
  CorsPolicy cors;

  // /health/ready: ready unless draining or the store or bus is not.
  HealthReport health() const;
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
