#include "server_context.hpp"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/topic.hpp"
#include "platform/clock.hpp"
#include "stream/hub.hpp"

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

namespace {

std::optional<std::string> first_denied(const std::vector<std::string>& patterns,
                                        const std::vector<std::string>& topics) {
  for (const auto& t : topics) {
    bool ok = std::any_of(patterns.begin(), patterns.end(),
                          [&](const std::string& p) { return topic_matches(p, t); });
    if (!ok) return t;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> Principal::denied_subscribe(const std::vector<std::string>& t) const {
  if (anonymous) return std::nullopt;
  return first_denied(subscribe, t);
}

std::optional<std::string> Principal::denied_publish(const std::vector<std::string>& t) const {
  if (anonymous) return std::nullopt;
  return first_denied(publish, t);
}

std::variant<Principal, ApiError> ServerContext::authenticate(
    const std::optional<std::string>& token) const {
  if (!verifier) return Principal{};
  if (!token) return ApiError{401, "unauthorized", "a bearer token is required", {}};
  auto now = unix_seconds();
  auto result = verifier->verify(*token, now);
  if (auto* f = std::get_if<JwtFailure>(&result)) {
    return ApiError{401, "unauthorized", "invalid token: " + f->reason, {}};
  }
  auto& claims = std::get<JwtClaims>(result);
  Principal p;
  p.anonymous = false;
  p.subject = std::move(claims.sub);
  p.expires_at = claims.exp;
  p.subscribe = std::move(claims.subscribe);
  p.publish = std::move(claims.publish);
  return p;
}

bool ServerContext::acquire_subject(const std::string& subject) {
  const auto cap = config.stream.max_connections_per_subject;
  std::lock_guard lock(subjects_mutex_);
  auto& n = subjects_[subject];
  if (cap != 0 && n >= cap) {
    if (n == 0) subjects_.erase(subject);
    return false;
  }
  ++n;
  return true;
}

void ServerContext::release_subject(const std::string& subject) {
  std::lock_guard lock(subjects_mutex_);
  auto it = subjects_.find(subject);
  if (it == subjects_.end()) return;
  if (--it->second == 0) subjects_.erase(it);
}

std::string ServerContext::cors_headers(std::string_view origin) const {
  if (origin.empty()) return {};
  const auto& allowed = config.server.cors_origins;
  if (std::find(allowed.begin(), allowed.end(), origin) == allowed.end()) return {};
  return "Access-Control-Allow-Origin: " + std::string(origin) +
         "\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n";
}

}  // namespace ssehub
