#pragma once
// What an HTTP session uses, and nothing more. Every reference outlives the
// sessions (the server owns them).

#include <atomic>
#include <functional>

#include "auth/principal.hpp"
#include "auth/subject_limits.hpp"
#include "bus/event_bus.hpp"
#include "core/config.hpp"
#include "http/cors.hpp"
#include "observability/metrics.hpp"
#include "server_context.hpp"
#include "store/event_store.hpp"
#include "stream/hub.hpp"

namespace ssehub {

struct HttpDeps {
  const ServerConfig& server;
  const StreamConfig& stream;
  Metrics& metrics;
  EventStore& store;
  EventBus& bus;
  const Authenticator& auth;
  SubjectLimits& subjects;
  const CorsPolicy& cors;
  const std::atomic<bool>& draining;
  std::function<HealthReport()> health;
  std::function<FanoutBacklog()> fanout_backlog;  // Hub::fanout_backlog

  static HttpDeps of(ServerContext& ctx) {
    return HttpDeps{ctx.config.server,
                    ctx.config.stream,
                    ctx.metrics,
                    *ctx.store,
                    *ctx.bus,
                    ctx.auth,
                    ctx.subjects,
                    ctx.cors,
                    ctx.draining,
                    [&ctx] { return ctx.health(); },
                    [&ctx] { return ctx.hub ? ctx.hub->fanout_backlog() : FanoutBacklog{}; }};
  }
};

}  // namespace ssehub
