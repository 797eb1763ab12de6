#include "schedule.hpp"

#include <utility>

namespace ssehub::chaos {

std::uint64_t Rng::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::int64_t Rng::between(std::int64_t lo, std::int64_t hi) {
  if (hi <= lo) return lo;
  const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
  return lo + static_cast<std::int64_t>(next() % span);
}

bool Rng::chance(double p) {
  return static_cast<double>(next() >> 11) * 0x1.0p-53 < p;
}

Rng Rng::fork(std::uint64_t tag) {
  Rng r(state_ ^ (tag * 0xD1B54A32D192ED03ULL));
  r.next();
  return r;
}

std::string to_string(FaultKind kind) {
  switch (kind) {
    case FaultKind::replica_kill:
      return "replica-kill";
    case FaultKind::replica_pause:
      return "replica-pause";
    case FaultKind::redis_kill:
      return "redis-kill";
    case FaultKind::redis_pause:
      return "redis-pause";
    case FaultKind::redis_kill_pubsub:
      return "redis-client-kill-pubsub";
    case FaultKind::redis_kill_normal:
      return "redis-client-kill-normal";
    case FaultKind::pg_backend_pause:
      return "pg-backend-pause";
    case FaultKind::pg_backend_kill:
      return "pg-backend-kill";
    case FaultKind::pg_restart:
      return "pg-restart";
  }
  return "?";
}

std::string describe(const Fault& f) {
  std::string s = to_string(f.kind);
  if (f.replica >= 0) s += " replica " + std::to_string(f.replica);
  if (!f.role.empty()) s += std::string(f.all ? " all " : " one ") + "ssehub-" + f.role;
  if (f.kind == FaultKind::pg_restart) s += f.hard ? " (SIGKILL)" : " (fast)";
  if (f.duration_ms > 0) s += " for " + std::to_string(f.duration_ms) + "ms";
  return s;
}

bool replica_on_redis(BusMode bus, int replica) {
  return bus == BusMode::redis || (bus == BusMode::mixed && replica % 2 == 0);
}

Topology make_topology(BusMode bus, int replicas) {
  Topology t;
  t.replicas = replicas;
  t.any_redis = t.any_pglog = false;
  for (int r = 0; r < replicas; ++r) (replica_on_redis(bus, r) ? t.any_redis : t.any_pglog) = true;
  return t;
}

namespace {

struct Weighted {
  FaultKind kind;
  int weight;
};

std::vector<Weighted> menu(const Topology& t) {
  std::vector<Weighted> m = {{FaultKind::replica_kill, 12},
                             {FaultKind::replica_pause, 8},
                             {FaultKind::pg_backend_pause, 16},
                             {FaultKind::pg_backend_kill, 6},
                             {FaultKind::pg_restart, 4}};
  if (t.any_redis) {
    m.insert(m.end(), {{FaultKind::redis_kill, 8},
                       {FaultKind::redis_pause, 8},
                       {FaultKind::redis_kill_pubsub, 12},
                       {FaultKind::redis_kill_normal, 12}});
  }
  return m;
}

std::vector<std::string> roles(const Topology& t) {
  std::vector<std::string> r = {"publish", "replay", "housekeeping"};
  if (t.any_pglog) r.insert(r.end(), {"follow", "follow"});  // the muting one, twice as often
  if (t.any_redis) r.push_back("redis-recovery");
  return r;
}

FaultKind pick(Rng& rng, const std::vector<Weighted>& m) {
  int total = 0;
  for (const auto& w : m) total += w.weight;
  std::int64_t x = rng.between(0, total - 1);
  for (const auto& w : m) {
    if (x < w.weight) return w.kind;
    x -= w.weight;
  }
  return m.back().kind;
}

}  // namespace

std::vector<Fault> make_schedule(std::uint64_t seed, std::int64_t run_ms, const Topology& t) {
  Rng rng = Rng(seed).fork(0xFA017);
  const auto kinds = menu(t);
  const auto role_list = roles(t);
  std::vector<Fault> out;
  std::int64_t at = 2000 + rng.between(0, 1000);
  const std::int64_t last_end = run_ms - 2000;
  while (at < last_end) {
    Fault f;
    f.at_ms = at;
    f.kind = pick(rng, kinds);
    switch (f.kind) {
      case FaultKind::replica_kill:
        f.replica = static_cast<int>(rng.between(0, t.replicas - 1));
        f.duration_ms = rng.between(200, 3000);
        break;
      case FaultKind::replica_pause:
        f.replica = static_cast<int>(rng.between(0, t.replicas - 1));
        f.duration_ms = rng.between(300, 6000);
        break;
      case FaultKind::redis_kill:
        f.duration_ms = rng.between(200, 3000);
        break;
      case FaultKind::redis_pause:
        f.duration_ms = rng.between(300, 5000);
        break;
      case FaultKind::redis_kill_pubsub:
      case FaultKind::redis_kill_normal:
        break;
      case FaultKind::pg_backend_pause:
        f.role = role_list[static_cast<std::size_t>(rng.between(0, role_list.size() - 1))];
        f.all = rng.chance(0.5);
        // Long enough, at times, to outlast the freshness bound.
        f.duration_ms = rng.chance(0.4) ? rng.between(7000, 12000) : rng.between(300, 4000);
        break;
      case FaultKind::pg_backend_kill:
        f.role = role_list[static_cast<std::size_t>(rng.between(0, role_list.size() - 1))];
        f.all = rng.chance(0.5);
        break;
      case FaultKind::pg_restart:
        f.hard = rng.chance(0.5);
        f.duration_ms = rng.between(300, 3000);
        break;
    }
    if (f.at_ms + f.duration_ms > last_end) break;
    out.push_back(f);
    at = f.at_ms + f.duration_ms + rng.between(300, 2500);
    if (f.kind == FaultKind::redis_kill_pubsub || f.kind == FaultKind::redis_kill_normal) {
      // Client kills come in bursts: the later ones hit connections made moments
      // before, whose socket buffers are still small.
      for (auto extra = rng.between(0, 3); extra > 0 && f.at_ms < last_end - 1000; --extra) {
        f.at_ms += rng.between(100, 700);
        out.push_back(f);
        at = f.at_ms + rng.between(300, 2500);
      }
    }
  }
  return out;
}

}  // namespace ssehub::chaos
