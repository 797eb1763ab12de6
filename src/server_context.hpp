#pragma once
// What every session shares: configuration, metrics, the store, the bus and the
// server-wide flags. Owned by Server; outlives every session.

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

#include "http/request_parsing.hpp"

#include "auth/jwt.hpp"
#include "bus/event_bus.hpp"
#include "core/config.hpp"
#include "observability/metrics.hpp"
#include "store/event_store.hpp"

namespace ssehub {

class Hub;

// Who is asking, once authenticated. With auth.mode none everything is allowed
// and there is no subject.
struct Principal {
  bool anonymous = true;
  std::string subject;          // the token's sub; empty only when anonymous
  std::int64_t expires_at = 0;  // unix seconds; 0 = never
  std::vector<std::string> subscribe;
  std::vector<std::string> publish;

  // nullopt when every topic is allowed, else the first one that is not.
  std::optional<std::string> denied_subscribe(const std::vector<std::string>& topics) const;
  std::optional<std::string> denied_publish(const std::vector<std::string>& topics) const;
};

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

  // auth.mode jwt: set at start-up.
  std::optional<JwtVerifier> verifier;
  // 401 when a token is needed and missing or invalid.
  std::variant<Principal, ApiError> authenticate(const std::optional<std::string>& token) const;

  // stream.max_connections_per_subject: false when the subject is at its cap.
  bool acquire_subject(const std::string& subject);
  void release_subject(const std::string& subject);

 private:
  std::mutex subjects_mutex_;
  std::unordered_map<std::string, std::uint64_t> subjects_;
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
