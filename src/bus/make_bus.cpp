#include "bus/make_bus.hpp"

#include "bus/local/local_bus.hpp"
#include "bus/pglog/pg_log_bus.hpp"
#include "bus/redis/redis_bus.hpp"

namespace ssehub {

std::unique_ptr<EventBus> make_bus(const Config& c, const std::string& replica) {
  if (c.store.kind != "postgres") return std::make_unique<LocalBus>();
  if (c.bus.kind == "redis") {
    RedisBus::Options o;
    o.url = c.bus.redis_url;
    o.prefix = c.bus.channel_prefix;
    o.replica = replica;
    o.sentinel_interval = std::chrono::milliseconds(c.bus.sentinel_interval_ms);
    o.sentinel_timeout = std::chrono::milliseconds(c.bus.sentinel_timeout_ms);
    o.recovery_limit = c.replay.limit;
    o.postgres_url = c.store.postgres_url;
    return std::make_unique<RedisBus>(std::move(o));
  }
  // Every replica follows the log, so replicas on one database share live events.
  return std::make_unique<PgLogBus>(c.store.postgres_url, PgLogBus::kMaxBehind);
}

}  // namespace ssehub
