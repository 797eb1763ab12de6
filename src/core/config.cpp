#include "core/config.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

extern char** environ;

namespace ssehub {
namespace {

using json = nlohmann::json;

struct Range {
  std::uint64_t min = 0;
  std::uint64_t max = UINT64_MAX;
};

// One configuration key: how to read it from JSON or text, and its documentation.
struct KeyDef {
  std::string section;
  std::string key;
  std::string help;
  std::function<void(Config&, const json&, const std::string& name)> from_json;
  std::function<void(Config&, const std::string&, const std::string& name)> from_text;
  std::function<std::string(const Config&)> show_default;
};

std::string full_name(const KeyDef& k) {
  return k.section + "." + k.key;
}

std::string env_name(const KeyDef& k) {
  std::string out = "SSEHUB_" + k.section + "_" + k.key;
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return out;
}

std::uint64_t check_range(std::uint64_t v, Range r, const std::string& name) {
  if (v < r.min || v > r.max) {
    throw ConfigError(name, "must be between " + std::to_string(r.min) + " and " +
                                std::to_string(r.max) + ", got " + std::to_string(v));
  }
  return v;
}

std::uint64_t parse_uint_text(const std::string& text, Range r, const std::string& name) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    throw ConfigError(name, "must be a non-negative integer, got \"" + text + "\"");
  }
  return check_range(v, r, name);
}

std::uint64_t parse_uint_json(const json& j, Range r, const std::string& name) {
  if (j.is_number_unsigned()) return check_range(j.get<std::uint64_t>(), r, name);
  if (j.is_number_integer()) {
    throw ConfigError(name, "must be a non-negative integer, got " + j.dump());
  }
  throw ConfigError(name, "must be a non-negative integer, got " + j.dump());
}

template <typename Section>
KeyDef uint_key(std::string section, std::string key, Section Config::*sec,
                std::uint64_t Section::*field, Range r, std::string help) {
  KeyDef d{std::move(section), std::move(key), std::move(help), {}, {}, {}};
  d.from_json = [=](Config& c, const json& j, const std::string& n) {
    (c.*sec).*field = parse_uint_json(j, r, n);
  };
  d.from_text = [=](Config& c, const std::string& t, const std::string& n) {
    (c.*sec).*field = parse_uint_text(t, r, n);
  };
  d.show_default = [=](const Config& c) { return std::to_string((c.*sec).*field); };
  return d;
}

template <typename Section>
KeyDef string_key(std::string section, std::string key, Section Config::*sec,
                  std::string Section::*field, std::vector<std::string> allowed, std::string help) {
  KeyDef d{std::move(section), std::move(key), std::move(help), {}, {}, {}};
  auto set = [=, allowed = std::move(allowed)](Config& c, const std::string& v,
                                               const std::string& n) {
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string list;
      for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw ConfigError(n, "must be one of " + list + ", got \"" + v + "\"");
    }
    (c.*sec).*field = v;
  };
  d.from_json = [=](Config& c, const json& j, const std::string& n) {
    if (!j.is_string()) throw ConfigError(n, "must be a string, got " + j.dump());
    set(c, j.get<std::string>(), n);
  };
  d.from_text = set;
  d.show_default = [=](const Config& c) { return "\"" + (c.*sec).*field + "\""; };
  return d;
}

template <typename Section>
KeyDef list_key(std::string section, std::string key, Section Config::*sec,
                std::vector<std::string> Section::*field, std::string help) {
  KeyDef d{std::move(section), std::move(key), std::move(help), {}, {}, {}};
  d.from_json = [=](Config& c, const json& j, const std::string& n) {
    if (!j.is_array()) throw ConfigError(n, "must be a list of strings, got " + j.dump());
    std::vector<std::string> out;
    for (auto& e : j) {
      if (!e.is_string()) throw ConfigError(n, "must be a list of strings, got " + j.dump());
      out.push_back(e.get<std::string>());
    }
    (c.*sec).*field = std::move(out);
  };
  d.from_text = [=](Config& c, const std::string& t, const std::string&) {
    std::vector<std::string> out;
    std::stringstream ss(t);
    std::string item;
    while (std::getline(ss, item, ',')) {
      auto b = item.find_first_not_of(' ');
      auto e = item.find_last_not_of(' ');
      if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    }
    (c.*sec).*field = std::move(out);
  };
  d.show_default = [=](const Config& c) { return json((c.*sec).*field).dump(); };
  return d;
}

const std::vector<KeyDef>& key_defs() {
  static const std::vector<KeyDef> defs = [] {
    constexpr std::uint64_t kDay = 86400000;
    std::vector<KeyDef> v;
    auto S = &Config::server;
    v.push_back(string_key("server", "listen", S, &ServerConfig::listen, {},
                           "address to listen on, host:port or [v6]:port"));
    v.push_back(uint_key("server", "threads", S, &ServerConfig::threads, {0, 256},
                         "reactor threads; 0 = one per core"));
    v.push_back(uint_key("server", "max_connections", S, &ServerConfig::max_connections,
                         {1, 10000000}, "open connections at most; past it 503 + Retry-After"));
    v.push_back(uint_key("server", "drain_timeout_ms", S, &ServerConfig::drain_timeout_ms,
                         {100, 600000}, "on SIGTERM, streams end spread over this window"));
    v.push_back(list_key("server", "cors_origins", S, &ServerConfig::cors_origins,
                         "exact origins allowed by CORS"));
    v.push_back(uint_key("server", "max_request_head_bytes", S,
                         &ServerConfig::max_request_head_bytes, {1024, 1048576},
                         "request line and headers at most; past it 431"));
    v.push_back(uint_key("server", "max_url_bytes", S, &ServerConfig::max_url_bytes, {256, 1048576},
                         "request target at most; past it 414"));
    v.push_back(uint_key("server", "max_body_bytes", S, &ServerConfig::max_body_bytes,
                         {1024, 67108864}, "request body at most; past it 413"));
    v.push_back(uint_key("server", "max_publish_batch", S, &ServerConfig::max_publish_batch,
                         {1, 100000}, "events in one POST /publish at most; past it 413"));
    v.push_back(uint_key("server", "request_timeout_ms", S, &ServerConfig::request_timeout_ms,
                         {100, 600000},
                         "a request head or body not read in time closes the connection"));
    auto T = &Config::stream;
    v.push_back(uint_key("stream", "heartbeat_ms", T, &StreamConfig::heartbeat_ms, {10, kDay},
                         "interval of `heartbeat` events"));
    v.push_back(uint_key("stream", "retry_ms", T, &StreamConfig::retry_ms, {0, kDay},
                         "base `retry:` sent to clients"));
    v.push_back(uint_key("stream", "retry_jitter_ms", T, &StreamConfig::retry_jitter_ms, {0, kDay},
                         "random extra added to `retry:` per connection"));
    v.push_back(uint_key("stream", "max_topics", T, &StreamConfig::max_topics, {1, 1000},
                         "topics one stream may subscribe to"));
    v.push_back(uint_key("stream", "queue_limit_bytes", T, &StreamConfig::queue_limit_bytes,
                         {1024, 1ULL << 32},
                         "outgoing bytes queued per stream before it is closed"));
    v.push_back(uint_key("stream", "max_connections_per_subject", T,
                         &StreamConfig::max_connections_per_subject, {0, 10000000},
                         "streams per token subject; 0 = unlimited"));
    v.push_back(uint_key("stream", "fanout_slice", T, &StreamConfig::fanout_slice, {1, 1000000},
                         "streams one fan-out handler writes to before other work runs"));
    v.push_back(uint_key("stream", "max_fanout_backlog", T, &StreamConfig::max_fanout_backlog,
                         {1, 100000000},
                         "events waiting for a worker's fan-out before publishes get 503"));
    auto R = &Config::replay;
    v.push_back(uint_key("replay", "limit", R, &ReplayConfig::limit, {1, 1000000},
                         "events one replay delivers at most; past it `replay-truncated`"));
    v.push_back(uint_key("replay", "timeout_ms", R, &ReplayConfig::timeout_ms, {1, 600000},
                         "a replay taking longer ends as `replay-failed`"));
    v.push_back(uint_key("replay", "max_concurrent", R, &ReplayConfig::max_concurrent, {1, 10000},
                         "replays running at once per replica"));
    auto O = &Config::store;
    v.push_back(string_key("store", "kind", O, &StoreConfig::kind, {"memory", "postgres"},
                           "event log: memory or postgres"));
    v.push_back(string_key("store", "postgres_url", O, &StoreConfig::postgres_url, {},
                           "libpq connection URL (store.kind = postgres)"));
    v.push_back(uint_key("store", "memory_capacity", O, &StoreConfig::memory_capacity,
                         {1, 100000000}, "events the memory store keeps"));
    v.push_back(uint_key("store", "retention_hours", O, &StoreConfig::retention_hours, {1, 87600},
                         "events older than this are pruned (postgres)"));
    v.push_back(uint_key("store", "retention_interval_ms", O, &StoreConfig::retention_interval_ms,
                         {100, kDay}, "how often one replica prunes expired events (postgres)"));
    v.push_back(uint_key("store", "publish_timeout_ms", O, &StoreConfig::publish_timeout_ms,
                         {100, 600000},
                         "a publish the store has not committed by then answers 503 (postgres)"));
    auto B = &Config::bus;
    v.push_back(string_key("bus", "kind", B, &BusConfig::kind, {"local", "redis"},
                           "live event bus: local or redis"));
    v.push_back(string_key("bus", "redis_url", B, &BusConfig::redis_url, {},
                           "redis://host:port (bus.kind = redis)"));
    v.push_back(string_key("bus", "channel_prefix", B, &BusConfig::channel_prefix, {},
                           "prefix of Redis channels"));
    v.push_back(uint_key("bus", "sentinel_interval_ms", B, &BusConfig::sentinel_interval_ms,
                         {0, kDay}, "sentinel publish interval; 0 disables it"));
    v.push_back(uint_key("bus", "sentinel_timeout_ms", B, &BusConfig::sentinel_timeout_ms,
                         {1, kDay}, "a sentinel not received within this is a miss"));
    auto A = &Config::auth;
    v.push_back(string_key("auth", "mode", A, &AuthConfig::mode, {"none", "jwt"},
                           "none (loopback only) or jwt"));
    v.push_back(string_key("auth", "jwt_secret", A, &AuthConfig::jwt_secret, {}, "HS256 secret"));
    v.push_back(string_key("auth", "jwt_public_key_file", A, &AuthConfig::jwt_public_key_file, {},
                           "PEM public key for RS256/ES256"));
    v.push_back(string_key("auth", "issuer", A, &AuthConfig::issuer, {}, "required `iss`, if set"));
    v.push_back(
        string_key("auth", "audience", A, &AuthConfig::audience, {}, "required `aud`, if set"));
    auto L = &Config::log;
    v.push_back(string_key("log", "level", L, &LogConfig::level,
                           {"trace", "debug", "info", "warn", "error", "critical", "off"},
                           "log level"));
    v.push_back(
        string_key("log", "format", L, &LogConfig::format, {"text", "json"}, "text or json lines"));
    return v;
  }();
  return defs;
}

const KeyDef* find_key(const std::string& section, const std::string& key) {
  for (auto& d : key_defs()) {
    if (d.section == section && d.key == key) return &d;
  }
  return nullptr;
}

bool known_section(const std::string& section) {
  for (auto& d : key_defs()) {
    if (d.section == section) return true;
  }
  return false;
}

}  // namespace

void apply_json(Config& config, const std::string& json_text) {
  json doc;
  try {
    doc = json::parse(json_text, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    throw ConfigError("", std::string("config file is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) throw ConfigError("", "config file must hold a JSON object");
  for (auto& [section, body] : doc.items()) {
    if (!known_section(section)) throw ConfigError(section, "unknown section");
    if (!body.is_object()) throw ConfigError(section, "must be an object");
    for (auto& [key, value] : body.items()) {
      const KeyDef* d = find_key(section, key);
      if (!d) throw ConfigError(section + "." + key, "unknown key");
      d->from_json(config, value, section + "." + key);
    }
  }
}

void apply_environment(Config& config, const Environment& env) {
  for (auto& [name, value] : env) {
    if (name.rfind("SSEHUB_", 0) != 0) continue;
    bool matched = false;
    for (auto& d : key_defs()) {
      if (env_name(d) == name) {
        d.from_text(config, value, name + " (" + full_name(d) + ")");
        matched = true;
        break;
      }
    }
    if (matched) continue;
    // A variable naming a known section but no known key is a typo worth stopping for.
    auto rest = name.substr(7);
    auto us = rest.find('_');
    std::string section = rest.substr(0, us);
    std::transform(section.begin(), section.end(), section.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    // Kubernetes injects <SERVICE>_SERVICE_HOST/_PORT and <SERVICE>_PORT* for
    // every Service; a Service named ssehub-server must not stop start-up.
    bool service_link = name.find("_SERVICE_HOST") != std::string::npos ||
                        name.find("_SERVICE_PORT") != std::string::npos ||
                        name.find("_PORT") != std::string::npos;
    if (us != std::string::npos && known_section(section) && !service_link) {
      throw ConfigError(name, "unknown configuration key");
    }
  }
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

ListenAddress parse_listen(const std::string& text) {
  const std::string name = "server.listen";
  ListenAddress out;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw ConfigError(name, "expected [address]:port, got \"" + text + "\"");
    }
    out.host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      throw ConfigError(name, "expected host:port, got \"" + text + "\"");
    }
    out.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty()) throw ConfigError(name, "address is empty in \"" + text + "\"");
  std::uint64_t port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
      port > 65535) {
    throw ConfigError(name, "port must be 0-65535, got \"" + port_text + "\"");
  }
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

void validate(const Config& c) {
  parse_listen(c.server.listen);
  if (c.store.kind == "postgres" && c.store.postgres_url.empty()) {
    throw ConfigError("store.postgres_url", "is required when store.kind is postgres");
  }
  if (c.bus.kind == "redis" && c.bus.redis_url.empty()) {
    throw ConfigError("bus.redis_url", "is required when bus.kind is redis");
  }
  if (c.bus.kind == "redis" && c.store.kind != "postgres") {
    throw ConfigError("bus.kind",
                      "redis needs store.kind postgres: replicas share ids and recover from it");
  }
  if (c.bus.channel_prefix.empty()) throw ConfigError("bus.channel_prefix", "must not be empty");
  if (c.auth.mode == "jwt" && c.auth.jwt_secret.empty() && c.auth.jwt_public_key_file.empty()) {
    throw ConfigError("auth.jwt_secret", "auth.mode jwt needs jwt_secret or jwt_public_key_file");
  }
  for (auto& o : c.server.cors_origins) {
    if (o == "*" || (o.rfind("http://", 0) != 0 && o.rfind("https://", 0) != 0)) {
      throw ConfigError(
          "server.cors_origins",
          "entries must be exact origins like https://app.example.com, got \"" + o + "\"");
    }
  }
}

Environment process_environment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

Config load_config(const std::string& file_path, const Environment& env) {
  Config config;
  if (!file_path.empty()) {
    std::ifstream in(file_path);
    if (!in) throw ConfigError("", "cannot read config file " + file_path);
    std::stringstream ss;
    ss << in.rdbuf();
    apply_json(config, ss.str());
  }
  apply_environment(config, env);
  validate(config);
  return config;
}

std::string describe_keys() {
  Config defaults;
  std::ostringstream out;
  for (auto& d : key_defs()) {
    out << "  " << full_name(d) << " (" << env_name(d) << ", default " << d.show_default(defaults)
        << ")\n      " << d.help << "\n";
  }
  return out.str();
}

}  // namespace ssehub
