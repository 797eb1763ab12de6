#pragma once
// The replay decision: given what a client asked for and what the store holds,
// deliver the events, signal truncation, or signal failure. Pure.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.hpp"
#include "core/event_id.hpp"

namespace ssehub {

enum class TruncationReason { limit, expired, unknown_id };
enum class FailureReason { timeout, unavailable, busy, error };

std::string_view to_string(TruncationReason r);
std::string_view to_string(FailureReason r);

// What the store holds, read in the same snapshot as the replay rows.
struct StoreWindow {
  std::string epoch;
  std::uint64_t head_seq = 0;        // highest committed seq (0: empty)
  std::uint64_t pruned_through = 0;  // every seq <= this may be gone
};

enum class IdCheck { ok, expired, unknown_id };

// Classifies the requested id before any rows are read: a malformed id, another
// epoch or a seq beyond the head is unknown; one older than what is retained expired.
IdCheck check_requested_id(const LastEventId& requested, const StoreWindow& window);

// What a store answers to a replay query: the window, the id check, and (when the
// check is ok) at most limit + 1 events after the requested id, in id order.
struct ReplaySnapshot {
  StoreWindow window;
  IdCheck check = IdCheck::ok;
  std::vector<Event> events;
};

struct ReplayDecision {
  enum class Kind { deliver, truncated, failed };
  Kind kind = Kind::deliver;
  std::vector<Event> events;                              // deliver
  TruncationReason truncation = TruncationReason::limit;  // truncated
  FailureReason failure = FailureReason::error;           // failed
  EventId resume;  // truncated: the id the client resumes from (sent as `id:`)
  // Every event with seq <= covered_through is settled by this decision; live
  // events up to it are duplicates and are skipped.
  std::uint64_t covered_through = 0;
};

ReplayDecision decide_replay(const LastEventId& requested, ReplaySnapshot snapshot,
                             std::size_t limit);
// `store_epoch` (when known) lets live delivery resume after the client's id
// instead of re-sending events it already has. A client's id may be ahead of
// `known_head` (the highest seq this replica knows to exist: another replica's
// bus may be ahead), but not by more than kImplausibleLead: an id that far ahead
// cannot be real, and settling it would mute the stream; live delivery then
// resumes after `known_head`.
inline constexpr std::uint64_t kImplausibleLead = 1'000'000'000;
ReplayDecision replay_failed(const LastEventId& requested, FailureReason reason,
                             std::string_view store_epoch = {}, std::uint64_t known_head = 0);
// A deliver decision whose frames would not fit the stream's queue becomes a
// truncation (reason limit) at the same resume point.
ReplayDecision truncate_for_size(ReplayDecision d);

// Control event frames for the decision.
std::string encode_replay_truncated(const ReplayDecision& d, std::size_t limit,
                                    std::string_view requested_raw);
std::string encode_replay_failed(FailureReason reason);

}  // namespace ssehub
