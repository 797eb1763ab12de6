#include "http/request_parsing.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/topic.hpp"

namespace ssehub {
namespace {

using json = nlohmann::json;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

ApiError bad(std::string code, std::string detail) {
  return ApiError{400, std::move(code), std::move(detail), {}};
}

}  // namespace

std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  return out;
}

std::string error_body(const ApiError& e) {
  json body = {{"error", e.code}, {"detail", e.detail}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string_view> Target::param(std::string_view name) const {
  for (auto& [k, v] : query) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::variant<Target, ApiError> parse_target(std::string_view target, std::size_t max_bytes) {
  if (target.size() > max_bytes) {
    return ApiError{414,
                    "uri_too_long",
                    "request target is longer than " + std::to_string(max_bytes) + " bytes",
                    {}};
  }
  if (target.empty() || target.front() != '/') {
    return bad("bad_target", "request target must start with '/'");
  }
  Target out;
  auto qpos = target.find('?');
  auto path = percent_decode(target.substr(0, qpos), false);
  if (!path) return bad("bad_target", "request path has a malformed percent escape");
  out.path = std::move(*path);
  if (qpos == std::string_view::npos) return out;
  std::string_view query = target.substr(qpos + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    auto key = percent_decode(part.substr(0, eq), true);
    auto value = percent_decode(
        eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
    if (!key || !value) return bad("bad_query", "query string has a malformed percent escape");
    out.query.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

std::variant<EventsRequest, ApiError> parse_events_request(
    const Target& target, std::optional<std::string_view> last_event_id_header,
    std::size_t max_topics) {
  EventsRequest out;
  std::optional<std::string_view> query_id;
  for (auto& [k, v] : target.query) {
    if (k == "topic") {
      if (auto err = topic_error(v)) return bad("bad_topic", *err);
      if (std::find(out.topics.begin(), out.topics.end(), v) == out.topics.end()) {
        if (out.topics.size() == max_topics) {
          return bad("too_many_topics",
                     "at most " + std::to_string(max_topics) + " topics per stream");
        }
        out.topics.push_back(v);
      }
    } else if (k == "lastEventId") {
      query_id = v;
    } else if (k == "access_token") {
      // Read by authentication; never echoed or logged.
    } else {
      return bad("unknown_parameter", "unknown query parameter \"" + printable(k, 64) + "\"");
    }
  }
  if (out.topics.empty()) return bad("missing_topic", "at least one topic parameter is required");
  out.last_event_id = resolve_last_event_id(last_event_id_header, query_id);
  return out;
}

namespace {

// JSON allows \u0000 in strings; text columns and many consumers do not.
bool contains_nul(const json& j) {
  if (j.is_string()) return j.get_ref<const std::string&>().find('\0') != std::string::npos;
  if (j.is_array()) {
    for (const auto& v : j) {
      if (contains_nul(v)) return true;
    }
  }
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k.find('\0') != std::string::npos || contains_nul(v)) return true;
    }
  }
  return false;
}

std::variant<NewEvent, ApiError> parse_one_event(const json& j, std::size_t index, bool in_array) {
  std::string where = in_array ? "event " + std::to_string(index) + ": " : "";
  if (!j.is_object()) return bad("bad_event", where + "must be an object with topic, type, data");
  for (auto& [key, _] : j.items()) {
    if (key != "topic" && key != "type" && key != "data") {
      return bad("bad_event", where + "unknown field \"" + printable(key, 64) + "\"");
    }
  }
  NewEvent ev;
  auto topic = j.find("topic");
  if (topic == j.end() || !topic->is_string())
    return bad("bad_topic", where + "topic must be a string");
  ev.topic = topic->get<std::string>();
  if (auto err = topic_error(ev.topic)) return bad("bad_topic", where + *err);
  auto type = j.find("type");
  if (type == j.end()) {
    ev.type = "message";
  } else {
    if (!type->is_string()) return bad("bad_type", where + "type must be a string");
    ev.type = type->get<std::string>();
    if (ev.type.empty() || ev.type.size() > kMaxTypeBytes) {
      return bad("bad_type", where + "type must be 1-" + std::to_string(kMaxTypeBytes) + " bytes");
    }
    if (std::any_of(ev.type.begin(), ev.type.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
      return bad("bad_type", where + "type must not contain control characters (CR, LF, NUL...)");
    }
    static const std::string reserved[] = {"ready", "heartbeat", "replay-truncated",
                                           "replay-failed", "token-expired"};
    for (auto& r : reserved) {
      if (ev.type == r) return bad("bad_type", where + "type \"" + r + "\" is reserved");
    }
  }
  auto data = j.find("data");
  if (data == j.end()) return bad("bad_data", where + "data is required (any JSON value)");
  if (contains_nul(*data)) {
    return bad("bad_data", where + "data must not contain the NUL character (\\u0000)");
  }
  ev.data = data->dump(-1, ' ', false, json::error_handler_t::strict);
  return ev;
}

}  // namespace

std::size_t stored_json_bytes(std::string_view compact_json) {
  std::size_t n = compact_json.size();
  bool in_string = false, escaped = false;
  for (char c : compact_json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == ',' || c == ':') {
      ++n;
    }
  }
  return n;
}

std::variant<std::vector<NewEvent>, ApiError> parse_publish_body(std::string_view body,
                                                                 std::size_t max_batch) {
  json doc;
  struct TooDeep {};
  try {
    // Serializing deeply nested data recurses; refuse it while parsing.
    doc = json::parse(body, [](int depth, json::parse_event_t, json&) {
      if (depth > static_cast<int>(kMaxJsonDepth)) throw TooDeep{};
      return true;
    });
  } catch (const TooDeep&) {
    return bad("bad_json", "body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  } catch (const json::exception& e) {
    return bad("bad_json", std::string("body is not valid JSON: ") + e.what());
  }
  std::vector<NewEvent> out;
  try {
    if (doc.is_array()) {
      if (doc.empty()) return bad("empty_batch", "the event array is empty");
      if (doc.size() > max_batch) {
        return ApiError{413,
                        "batch_too_large",
                        "at most " + std::to_string(max_batch) + " events per request",
                        {}};
      }
      out.reserve(doc.size());
      for (std::size_t i = 0; i < doc.size(); ++i) {
        auto one = parse_one_event(doc[i], i, true);
        if (auto* e = std::get_if<ApiError>(&one)) return *e;
        out.push_back(std::move(std::get<NewEvent>(one)));
      }
    } else {
      auto one = parse_one_event(doc, 0, false);
      if (auto* e = std::get_if<ApiError>(&one)) return *e;
      out.push_back(std::move(std::get<NewEvent>(one)));
    }
  } catch (const json::exception& e) {
    return bad("bad_json", std::string("body is not valid JSON: ") + e.what());
  }
  return out;
}

std::optional<std::string> extract_token(std::optional<std::string_view> authorization,
                                         const Target& target,
                                         std::optional<std::string_view> cookie_header) {
  if (authorization) {
    std::string_view a = *authorization;
    if (a.size() > 7 && (a.substr(0, 7) == "Bearer " || a.substr(0, 7) == "bearer ")) {
      a.remove_prefix(7);
      while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
      if (!a.empty()) return std::string(a);
    }
  }
  if (auto q = target.param("access_token"); q && !q->empty()) return std::string(*q);
  if (cookie_header) {
    std::string_view c = *cookie_header;
    while (!c.empty()) {
      auto semi = c.find(';');
      std::string_view pair = c.substr(0, semi);
      c = semi == std::string_view::npos ? std::string_view{} : c.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      if (pair.substr(0, 13) == "ssehub_token=" && pair.size() > 13) {
        return std::string(pair.substr(13));
      }
    }
  }
  return std::nullopt;
}

bool is_json_content_type(std::string_view ct) {
  auto semi = ct.find(';');
  auto base = ct.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  while (!base.empty() && base.front() == ' ') base.remove_prefix(1);
  if (base.size() != 16) return false;
  std::string lower(base);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return lower == "application/json";
}

}  // namespace ssehub
