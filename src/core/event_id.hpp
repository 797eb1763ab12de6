#pragma once
// Event ids have the form `<epoch>-<seq>`: `epoch` is a short token fixed when a
// store is created, `seq` a decimal integer that grows with every event. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.hpp"

namespace ssehub {

inline constexpr std::size_t kMaxEpochChars = 16;
// The largest seq a store can hold (a Postgres bigint): an id above it cannot
// exist and is read as malformed, so it is answered `unknown-id`.
inline constexpr std::uint64_t kMaxSeq = 9223372036854775807ULL;

struct EventId {
  std::string epoch;
  std::uint64_t seq = 0;

  std::string str() const;
  friend bool operator==(const EventId&, const EventId&) = default;
};

std::string format_event_id(std::string_view epoch, std::uint64_t seq);

// `batch` as the store gives it back: seqs `after + 1`, `after + 2`, ... and ids in
// `epoch`. Every store names its new events this way.
EventBatch stored_events(std::vector<NewEvent> batch, std::string_view epoch, std::uint64_t after);

// Accepts only the exact form: 1-16 [A-Za-z0-9], '-', 1-20 digits without
// leading zeros that fit uint64 (so an id has one spelling).
std::optional<EventId> parse_event_id(std::string_view text);

bool valid_epoch(std::string_view epoch);

// What a client asked to resume from: nothing, something unparsable, or an id.
struct LastEventId {
  enum class Kind { none, malformed, id };
  Kind kind = Kind::none;
  EventId id;       // when kind == id
  std::string raw;  // what the client sent, cut to kMaxEchoedChars

  static constexpr std::size_t kMaxEchoedChars = 64;
  bool present() const { return kind != Kind::none; }
};

// The `Last-Event-ID` header wins over the `lastEventId` query parameter; an empty
// value counts as absent.
LastEventId resolve_last_event_id(std::optional<std::string_view> header,
                                  std::optional<std::string_view> query);

}  // namespace ssehub
