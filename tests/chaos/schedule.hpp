#pragma once
// The fault schedule of a chaos run: a pure function of the seed, so that a failing
// seed replays the same faults at the same times (TigerBeetle's VOPR).

#include <cstdint>
#include <string>
#include <vector>

namespace ssehub::chaos {

// SplitMix64: the same numbers for the same seed on every platform and library
// (std:: distributions are implementation-defined).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  // Uniform in [lo, hi].
  std::int64_t between(std::int64_t lo, std::int64_t hi);
  // True with probability `p`.
  bool chance(double p);
  // An independent generator for a named part of the run.
  Rng fork(std::uint64_t tag);

 private:
  std::uint64_t state_;
};

enum class FaultKind {
  replica_kill,       // SIGKILL a replica, restart it on the same port after `duration`
  replica_pause,      // SIGSTOP a replica, SIGCONT after `duration`
  redis_kill,         // SIGKILL Redis, restart it after `duration`
  redis_pause,        // SIGSTOP Redis, SIGCONT after `duration`
  redis_kill_pubsub,  // CLIENT KILL TYPE pubsub (the replicas' subscribers)
  redis_kill_normal,  // CLIENT KILL TYPE normal (the replicas' publishers)
  pg_backend_pause,   // SIGSTOP backends of one role, SIGCONT after `duration`
  pg_backend_kill,    // SIGKILL backends of one role (the postmaster then resets)
  pg_restart,         // stop Postgres (fast or SIGKILL), start it after `duration`
};
std::string to_string(FaultKind kind);

struct Fault {
  std::int64_t at_ms = 0;        // from the start of the workload
  std::int64_t duration_ms = 0;  // until healed; 0 for instant faults
  FaultKind kind = FaultKind::replica_kill;
  int replica = -1;   // replica faults
  std::string role;   // backend faults: application_name without "ssehub-"
  bool all = false;   // backend faults: every backend of the role, or one
  bool hard = false;  // pg_restart: SIGKILL instead of a fast shutdown
};
std::string describe(const Fault& f);

// What the cluster runs, which decides the faults that apply.
struct Topology {
  int replicas = 3;
  bool any_redis = true;  // some replica on bus.kind redis
  bool any_pglog = true;  // some replica following the Postgres log
};

// redis: every replica on the Redis bus; pglog: every replica follows the Postgres log
// (bus.kind local); mixed: even replicas on Redis, odd ones on the log.
enum class BusMode { redis, pglog, mixed };
bool replica_on_redis(BusMode bus, int replica);
Topology make_topology(BusMode bus, int replicas);

// Faults one after the other (each healed before the next starts), from 2 s into
// the run until 2 s before its end; Redis client kills come in bursts of up to four.
std::vector<Fault> make_schedule(std::uint64_t seed, std::int64_t run_ms, const Topology& topology);

}  // namespace ssehub::chaos
