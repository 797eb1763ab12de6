#pragma once
// Configuration: defaults, a JSON file, then SSEHUB_<SECTION>_<KEY> environment
// overrides. Parsing and validation are pure; an invalid value throws ConfigError
// naming the key.

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace ssehub {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::uint64_t threads = 0;  // 0: one per core
  std::uint64_t max_connections = 50000;
  std::uint64_t drain_timeout_ms = 10000;
  std::vector<std::string> cors_origins;
  std::uint64_t max_request_head_bytes = 8192;
  std::uint64_t max_url_bytes = 4096;
  std::uint64_t max_body_bytes = 1048576;
  std::uint64_t max_publish_batch = 1000;
  std::uint64_t request_timeout_ms = 10000;
};

struct StreamConfig {
  std::uint64_t heartbeat_ms = 15000;
  std::uint64_t retry_ms = 2000;
  std::uint64_t retry_jitter_ms = 3000;
  std::uint64_t max_topics = 16;
  std::uint64_t queue_limit_bytes = 262144;
  std::uint64_t max_connections_per_subject = 100;
  // Streams one fan-out handler writes to before the other work of its reactor
  // thread (publishes, accepts, new streams, timers) gets a turn. 64 streams
  // take about 0.4 ms; measured against 256, 1024 and no slicing in
  // docs/benchmarks.md.
  std::uint64_t fanout_slice = 64;
  // Events that may wait for a worker's fan-out before publishes are refused
  // (503): a publisher does not wait for fan-out, so this is its backpressure.
  std::uint64_t max_fanout_backlog = 10000;
};

struct ReplayConfig {
  std::uint64_t limit = 1000;
  std::uint64_t timeout_ms = 5000;
  std::uint64_t max_concurrent = 16;
};

struct StoreConfig {
  std::string kind = "memory";
  std::string postgres_url;
  std::uint64_t memory_capacity = 100000;
  std::uint64_t retention_hours = 72;
  std::uint64_t retention_interval_ms = 60000;
  std::uint64_t publish_timeout_ms = 5000;
};

struct BusConfig {
  std::string kind = "local";
  std::string redis_url;
  std::string channel_prefix = "ssehub";
  std::uint64_t sentinel_interval_ms = 30000;
  std::uint64_t sentinel_timeout_ms = 5000;
};

struct AuthConfig {
  std::string mode = "none";
  std::string jwt_secret;
  std::string jwt_public_key_file;
  std::string issuer;
  std::string audience;
};

struct LogConfig {
  std::string level = "info";
  std::string format = "text";
};

struct Config {
  ServerConfig server;
  StreamConfig stream;
  ReplayConfig replay;
  StoreConfig store;
  BusConfig bus;
  AuthConfig auth;
  LogConfig log;
};

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string key, const std::string& message)
      : std::runtime_error(key.empty() ? message : key + ": " + message), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

using Environment = std::map<std::string, std::string>;

// Applies a JSON document (text) onto `config`. Unknown sections or keys and
// values of the wrong type or range throw ConfigError.
void apply_json(Config& config, const std::string& json_text);

// Applies SSEHUB_<SECTION>_<KEY> variables; lists are comma-separated.
void apply_environment(Config& config, const Environment& env);

// Checks cross-field rules (listen address, kinds, URLs); throws ConfigError.
void validate(const Config& config);

// Defaults + file (if non-empty path) + environment, validated.
Config load_config(const std::string& file_path, const Environment& env);

Environment process_environment();

// One line per key: name, env var, default and meaning. For --help.
std::string describe_keys();

struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};
// "host:port", "[v6]:port". Throws ConfigError("server.listen", ...).
ListenAddress parse_listen(const std::string& text);
bool is_loopback_host(const std::string& host);

}  // namespace ssehub
