#include "http/router.hpp"

#include <string>
#include <utility>

namespace ssehub {
namespace {

Refusal refuse(unsigned status, std::string code, std::string detail, bool close = false) {
  return Refusal{ApiError{status, std::move(code), std::move(detail), {}}, close, false};
}

Refusal method_not_allowed(std::string_view allowed) {
  Refusal r = refuse(405, "method_not_allowed", "use " + std::string(allowed));
  r.error.allow = allowed;
  return r;
}

bool is_health(std::string_view path) {
  return path == "/health/live" || path == "/health/ready" || path == "/health" ||
         path == "/metrics";
}

Endpoint health_endpoint(std::string_view path) {
  if (path == "/metrics") return Endpoint::metrics;
  if (path == "/health/live") return Endpoint::live;
  return Endpoint::ready;
}

}  // namespace

std::variant<Route, Refusal> route(const RouteRequest& req, const RouteLimits& limits) {
  auto parsed = parse_target(req.target, limits.max_url_bytes);
  if (auto* e = std::get_if<ApiError>(&parsed)) return Refusal{std::move(*e), true, false};
  Route out;
  out.target = std::move(std::get<Target>(parsed));
  const std::string& path = out.target.path;
  const bool stream_or_publish = path == "/events" || path == "/publish";

  if (req.method == Method::options && stream_or_publish) {
    if (!req.origin_allowed) {
      return refuse(403, "origin_not_allowed", "origin is not in server.cors_origins");
    }
    out.endpoint = Endpoint::preflight;
    return out;
  }
  // At capacity, probes and scrapes are still answered; streams and publishes are not.
  if (req.over_capacity && stream_or_publish) {
    Refusal r = refuse(503, "at_capacity", "server.max_connections reached; retry later", true);
    r.capacity = true;
    return r;
  }
  if (path == "/events") {
    if (req.method != Method::get) return method_not_allowed("GET");
    if (req.draining) {
      Refusal r = refuse(503, "draining", "this replica is shutting down; reconnect", true);
      r.capacity = true;
      return r;
    }
    auto events = parse_events_request(out.target, req.last_event_id, limits.max_topics);
    if (auto* e = std::get_if<ApiError>(&events)) return Refusal{std::move(*e), false, false};
    out.endpoint = Endpoint::events;
    out.events = std::move(std::get<EventsRequest>(events));
    return out;
  }
  if (path == "/publish") {
    if (req.method != Method::post) return method_not_allowed("POST");
    out.endpoint = Endpoint::publish;
    return out;
  }
  if (is_health(path)) {
    if (req.method != Method::get && req.method != Method::head) {
      return method_not_allowed("GET, HEAD");
    }
    out.endpoint = health_endpoint(path);
    out.head = req.method == Method::head;
    return out;
  }
  return refuse(404, "not_found", "no such endpoint");
}

}  // namespace ssehub
