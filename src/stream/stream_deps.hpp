#pragma once
// What an event stream uses, and nothing more. Every reference outlives the
// streams (the server owns them); the worker builds one for all of its streams.

#include <cstdint>
#include <string>

#include "auth/subject_limits.hpp"
#include "bus/event_bus.hpp"
#include "core/config.hpp"
#include "observability/metrics.hpp"
#include "server_context.hpp"
#include "store/event_store.hpp"

namespace ssehub {

struct StreamDeps {
  const StreamConfig& stream;
  const std::uint64_t& replay_limit;  // replay.limit
  Metrics& metrics;
  EventStore& store;
  EventBus& bus;
  const std::string& replica_id;
  SubjectLimits& subjects;

  static StreamDeps of(ServerContext& ctx) {
    return StreamDeps{ctx.config.stream, ctx.config.replay.limit, ctx.metrics, *ctx.store,
                      *ctx.bus,          ctx.replica_id,          ctx.subjects};
  }
};

}  // namespace ssehub
