#include "core/event_id.hpp"

#include <charconv>

namespace ssehub {

EventBatch stored_events(std::vector<NewEvent> batch, std::string_view epoch, std::uint64_t after) {
  EventBatch events;
  events.reserve(batch.size());
  for (auto& ne : batch) {
    Event ev;
    ev.seq = ++after;
    ev.id = format_event_id(epoch, ev.seq);
    ev.topic = std::move(ne.topic);
    ev.type = std::move(ne.type);
    ev.data = std::move(ne.data);
    events.push_back(std::move(ev));
  }
  return events;
}

std::string format_event_id(std::string_view epoch, std::uint64_t seq) {
  std::string out;
  out.reserve(epoch.size() + 21);
  out.append(epoch);
  out.push_back('-');
  out.append(std::to_string(seq));
  return out;
}

std::string EventId::str() const {
  return format_event_id(epoch, seq);
}

bool valid_epoch(std::string_view epoch) {
  if (epoch.empty() || epoch.size() > kMaxEpochChars) return false;
  for (char c : epoch) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return true;
}

std::optional<EventId> parse_event_id(std::string_view text) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto epoch = text.substr(0, dash);
  auto digits = text.substr(dash + 1);
  if (!valid_epoch(epoch) || digits.empty() || digits.size() > 20) return std::nullopt;
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;  // one spelling per id
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::uint64_t seq = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  if (seq > kMaxSeq) return std::nullopt;
  return EventId{std::string(epoch), seq};
}

LastEventId resolve_last_event_id(std::optional<std::string_view> header,
                                  std::optional<std::string_view> query) {
  std::optional<std::string_view> chosen;
  if (header && !header->empty()) {
    chosen = header;
  } else if (query && !query->empty()) {
    chosen = query;
  }
  LastEventId out;
  if (!chosen) return out;
  for (char c : chosen->substr(0, LastEventId::kMaxEchoedChars)) {
    // Echoed in logs and in replay-truncated: no control characters.
    out.raw.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  if (auto id = parse_event_id(*chosen)) {
    out.kind = LastEventId::Kind::id;
    out.id = std::move(*id);
  } else {
    out.kind = LastEventId::Kind::malformed;
  }
  return out;
}

}  // namespace ssehub
