#include "bus/redis/redis_protocol.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "core/event_id.hpp"
#include "core/topic.hpp"

namespace ssehub::redis {
namespace {

using json = nlohmann::json;

template <typename T>
bool parse_number(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 percent-decoding ('+' stays '+'); nullopt on a '%' not followed by two
// hex digits.
std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    int hi = hex_value(in[i + 1]);
    int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

std::variant<Endpoint, std::string> parse_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) return "must start with redis://";
  std::string_view rest = url.substr(kScheme.size());
  Endpoint e;
  // The last '@' ends the user info, so an '@' left unencoded in a password works.
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    auto colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon));
    if (!user) return "bad percent-escape in the user name (% must be followed by two hex digits)";
    e.username = std::move(*user);
    if (colon != std::string_view::npos) {
      auto password = percent_decode(userinfo.substr(colon + 1));
      if (!password) {
        return "bad percent-escape in the password (% must be followed by two hex digits)";
      }
      e.password = std::move(*password);
    }
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!parse_number(db, e.db) || e.db < 0)) {
      return "database \"" + std::string(db) + "\" is not a number";
    }
    rest = rest.substr(0, slash);
  }
  std::string_view host = rest;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return "unclosed [ in the host";
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return "unexpected text after ]";
    if (!rest.empty())
      rest = rest.substr(1);
    else
      rest = {};
    if (!rest.empty() && !parse_number(rest, e.port)) return "port must be 1-65535";
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    if (!parse_number(rest.substr(colon + 1), e.port) || e.port == 0) {
      return "port must be 1-65535";
    }
  }
  if (host.empty()) return "host is missing";
  e.host = std::string(host);
  return e;
}

std::optional<std::vector<std::string>> auth_command(const Endpoint& e) {
  if (!e.username.empty()) return std::vector<std::string>{"AUTH", e.username, e.password};
  if (!e.password.empty()) return std::vector<std::string>{"AUTH", e.password};
  return std::nullopt;
}

std::string topic_channel(std::string_view prefix, std::string_view topic) {
  return std::string(prefix) + ":topic:" + std::string(topic);
}

std::string heads_channel(std::string_view prefix) {
  return std::string(prefix) + ":heads";
}

std::string sentinel_channel(std::string_view prefix, std::string_view replica) {
  return std::string(prefix) + ":sentinel:" + std::string(replica);
}

std::optional<std::string> channel_topic(std::string_view prefix, std::string_view channel) {
  const std::string head = std::string(prefix) + ":topic:";
  if (channel.size() <= head.size() || channel.substr(0, head.size()) != head) return std::nullopt;
  return std::string(channel.substr(head.size()));
}

std::string encode_event(const Event& ev) {
  // `data` is already compact JSON: it is spliced in, not parsed again.
  std::string out = R"({"id":)" + json(ev.id).dump() + R"(,"seq":)" + std::to_string(ev.seq) +
                    R"(,"topic":)" + json(ev.topic).dump() + R"(,"type":)" +
                    json(ev.type).dump(-1, ' ', false, json::error_handler_t::replace) +
                    R"(,"data":)";
  out += ev.data;
  out += '}';
  return out;
}

std::optional<Event> decode_event(std::string_view message, std::string& error) {
  json j = json::parse(message, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  auto id = j.find("id");
  auto seq = j.find("seq");
  auto topic = j.find("topic");
  auto type = j.find("type");
  auto data = j.find("data");
  if (id == j.end() || !id->is_string() || seq == j.end() || !seq->is_number_unsigned() ||
      topic == j.end() || !topic->is_string() || type == j.end() || !type->is_string() ||
      data == j.end()) {
    error = "needs id, seq, topic, type and data";
    return std::nullopt;
  }
  Event ev;
  ev.id = id->get<std::string>();
  ev.seq = seq->get<std::uint64_t>();
  auto parsed = parse_event_id(ev.id);
  if (!parsed || parsed->seq != ev.seq) {
    error = "id and seq disagree";
    return std::nullopt;
  }
  ev.topic = topic->get<std::string>();
  if (auto bad = topic_error(ev.topic)) {
    error = *bad;
    return std::nullopt;
  }
  ev.type = type->get<std::string>();
  if (ev.type.empty() || ev.type.find_first_of("\r\n") != std::string::npos) {
    error = "bad type";
    return std::nullopt;
  }
  ev.data = data->dump(-1, ' ', false, json::error_handler_t::replace);
  return ev;
}

std::string encode_heads(const HeadsNotice& h) {
  return R"({"base":)" + std::to_string(h.base) + R"(,"head":)" + std::to_string(h.head) + "}";
}

std::optional<HeadsNotice> decode_heads(std::string_view message) {
  json j = json::parse(message, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto base = j.find("base");
  auto head = j.find("head");
  if (base == j.end() || head == j.end() || !base->is_number_unsigned() ||
      !head->is_number_unsigned()) {
    return std::nullopt;
  }
  HeadsNotice h{base->get<std::uint64_t>(), head->get<std::uint64_t>()};
  if (h.head < h.base) return std::nullopt;
  return h;
}

}  // namespace ssehub::redis
