#include "core/replay_decision.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/sse_frame.hpp"

namespace ssehub {

std::string_view to_string(TruncationReason r) {
  switch (r) {
    case TruncationReason::limit:
      return "limit";
    case TruncationReason::expired:
      return "expired";
    case TruncationReason::unknown_id:
      return "unknown-id";
  }
  return "unknown-id";
}

std::string_view to_string(FailureReason r) {
  switch (r) {
    case FailureReason::timeout:
      return "timeout";
    case FailureReason::unavailable:
      return "unavailable";
    case FailureReason::busy:
      return "busy";
    case FailureReason::error:
      return "error";
  }
  return "error";
}

IdCheck check_requested_id(const LastEventId& requested, const StoreWindow& window) {
  if (requested.kind != LastEventId::Kind::id) return IdCheck::unknown_id;
  const EventId& id = requested.id;
  if (id.epoch != window.epoch || id.seq > window.head_seq) return IdCheck::unknown_id;
  if (id.seq < window.pruned_through) return IdCheck::expired;
  return IdCheck::ok;
}

ReplayDecision decide_replay(const LastEventId& requested, ReplaySnapshot snapshot,
                             std::size_t limit) {
  ReplayDecision d;
  const StoreWindow& w = snapshot.window;
  d.resume = EventId{w.epoch, w.head_seq};
  d.covered_through = w.head_seq;
  if (snapshot.check != IdCheck::ok) {
    d.kind = ReplayDecision::Kind::truncated;
    d.truncation = snapshot.check == IdCheck::expired ? TruncationReason::expired
                                                      : TruncationReason::unknown_id;
    return d;
  }
  if (snapshot.events.size() > limit) {
    d.kind = ReplayDecision::Kind::truncated;
    d.truncation = TruncationReason::limit;
    return d;
  }
  (void)requested;
  d.kind = ReplayDecision::Kind::deliver;
  d.events = std::move(snapshot.events);
  return d;
}

ReplayDecision replay_failed(const LastEventId& requested, FailureReason reason,
                             std::string_view store_epoch, std::uint64_t known_head) {
  ReplayDecision d;
  d.kind = ReplayDecision::Kind::failed;
  d.failure = reason;
  // The client already has everything up to its own id (when that id is of this
  // store); live events held meanwhile are released after it.
  bool same_store = requested.kind == LastEventId::Kind::id && !store_epoch.empty() &&
                    requested.id.epoch == store_epoch;
  if (!same_store) return d;
  const bool plausible =
      requested.id.seq <= known_head || requested.id.seq - known_head <= kImplausibleLead;
  d.covered_through = plausible ? requested.id.seq : known_head;
  return d;
}

ReplayDecision truncate_for_size(ReplayDecision d) {
  d.kind = ReplayDecision::Kind::truncated;
  d.truncation = TruncationReason::limit;
  d.events.clear();
  return d;
}

std::string encode_replay_truncated(const ReplayDecision& d, std::size_t limit,
                                    std::string_view requested_raw) {
  nlohmann::json data = {{"reason", to_string(d.truncation)},
                         {"limit", limit},
                         {"requestedAfter", std::string(requested_raw)}};
  return encode_event(d.resume.str(), "replay-truncated",
                      data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string encode_replay_failed(FailureReason reason) {
  nlohmann::json data = {{"reason", to_string(reason)}};
  return encode_event("", "replay-failed", data.dump());
}

}  // namespace ssehub
