#pragma once
// The event log: assigns ids on publish and answers bounded replay queries.
//
// Threads: methods may be called from any reactor thread. Callbacks may run on the
// calling thread (memory store) or on a store thread (blocking stores); callers
// post results back to their own executor.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.hpp"
#include "core/replay_decision.hpp"

namespace ssehub {

struct AppendResult {
  bool ok = false;
  std::vector<std::string> ids;  // in input order, when ok
  std::string error;             // when !ok: why (the client gets 503)
};

struct ReplayQuery {
  std::vector<std::string> topics;
  LastEventId after;
  std::size_t limit = 0;  // the store reads at most limit + 1 rows
};

struct ReplayResult {
  bool ok = false;
  ReplaySnapshot snapshot;                       // when ok
  FailureReason failure = FailureReason::error;  // when !ok
  std::string error;                             // when !ok: the cause, for the log
  std::string epoch;                             // the store's epoch, when known
  std::uint64_t known_head = 0;  // the highest seq the store is known to hold (0: unknown)
};

// Runs inside the store's ordered section, after the batch is committed and before
// any later batch commits: live publication here keeps delivery in id order.
using OrderedPublish = std::function<void(EventBatchPtr)>;

class EventStore {
 public:
  virtual ~EventStore() = default;

  virtual std::string_view kind() const = 0;

  virtual void append(std::vector<NewEvent> batch, OrderedPublish publish,
                      std::function<void(AppendResult)> done) = 0;

  virtual void replay(ReplayQuery query, std::function<void(ReplayResult)> done) = 0;

  // An id at or below the store's committed head (the newest event this replica
  // knows to be committed), or nothing when the store cannot tell. A client that
  // resumes from it misses nothing published after the call. Never blocks.
  virtual std::optional<EventId> position() const { return std::nullopt; }

  // Component state for /health: {"state": ..., ...}; `ready` false fails readiness.
  virtual bool ready() const = 0;
  virtual std::string health_json() const = 0;
  // Appends the store's own series to /metrics (Prometheus text).
  virtual void render_metrics(std::string& out) const { (void)out; }

  virtual void stop() {}
};

}  // namespace ssehub
