#pragma once
// Which endpoint a request is for, or why it is refused: a pure function of the
// request line, a few headers and the server's state. No socket, no Beast; the
// HTTP session does what the route says.

#include <cstddef>
#include <optional>
#include <string_view>
#include <variant>

#include "http/request_parsing.hpp"

namespace ssehub {

enum class Method { get, head, post, options, other };

enum class Endpoint {
  preflight,  // OPTIONS /events or /publish from an allowed origin
  events,     // GET /events: `events` holds the parsed request
  publish,    // POST /publish
  live,       // /health/live
  ready,      // /health/ready and /health
  metrics,    // /metrics
};

struct RouteRequest {
  Method method = Method::get;
  std::string_view target;
  std::optional<std::string_view> last_event_id;  // the Last-Event-ID header
  bool origin_allowed = false;                    // the Origin is in server.cors_origins
  bool over_capacity = false;                     // accepted past server.max_connections
  bool draining = false;                          // the replica is shutting down
};

struct RouteLimits {
  std::size_t max_url_bytes = kMaxTargetBytes;
  std::size_t max_topics = 0;
};

struct Route {
  Endpoint endpoint = Endpoint::live;
  Target target;
  std::optional<EventsRequest> events;
  bool head = false;  // HEAD: the same headers, no body
};

struct Refusal {
  ApiError error;
  bool close = false;     // the connection ends after the error
  bool capacity = false;  // counts as a capacity rejection (full or draining)
};

std::variant<Route, Refusal> route(const RouteRequest& req, const RouteLimits& limits);

}  // namespace ssehub
