#pragma once
// Parsing of request targets, /events parameters and /publish bodies. Pure: every
// failure is an ApiError carrying the HTTP status and a stable error code.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/event.hpp"
#include "core/event_id.hpp"

namespace ssehub {

struct ApiError {
  unsigned status = 400;
  std::string code;    // e.g. "bad_topic"
  std::string detail;  // human-readable, never echoes a token
  std::string allow;   // 405: the methods the endpoint takes (the Allow header)
};

// `{"error":"<code>","detail":"<text>"}`
std::string error_body(const ApiError& e);

// Defaults of server.max_url_bytes and server.max_publish_batch.
inline constexpr std::size_t kMaxTargetBytes = 4096;
inline constexpr std::size_t kMaxPublishBatch = 1000;
inline constexpr std::size_t kMaxTypeBytes = 100;
inline constexpr std::size_t kMaxJsonDepth = 64;

// At most `max` bytes of `text` with control characters replaced, for logs and
// error details that echo client input.
std::string printable(std::string_view text, std::size_t max);

struct Target {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order

  std::optional<std::string_view> param(std::string_view name) const;
};

// Splits and percent-decodes a request target ('+' is a space in the query).
std::variant<Target, ApiError> parse_target(std::string_view target,
                                            std::size_t max_bytes = kMaxTargetBytes);

struct EventsRequest {
  std::vector<std::string> topics;  // deduplicated, in order
  LastEventId last_event_id;
};

// Reads `topic` (repeatable) and `lastEventId` from the query, and the
// Last-Event-ID header if present.
std::variant<EventsRequest, ApiError> parse_events_request(
    const Target& target, std::optional<std::string_view> last_event_id_header,
    std::size_t max_topics);

// A JSON object {"topic","type","data"} or an array of 1..kMaxPublishBatch of them.
// The size of `compact_json` as Postgres gives it back (jsonb text puts a space
// after every ',' and ':' outside strings): the size a stored event's data takes
// in a replayed or followed frame. At least compact_json.size().
std::size_t stored_json_bytes(std::string_view compact_json);

std::variant<std::vector<NewEvent>, ApiError> parse_publish_body(
    std::string_view body, std::size_t max_batch = kMaxPublishBatch);

// The bearer token from `Authorization: Bearer`, else the `access_token` query
// parameter, else the `ssehub_token` cookie.
std::optional<std::string> extract_token(std::optional<std::string_view> authorization,
                                         const Target& target,
                                         std::optional<std::string_view> cookie_header);

// True for `application/json` with optional parameters (`; charset=utf-8`).
bool is_json_content_type(std::string_view content_type);

}  // namespace ssehub
