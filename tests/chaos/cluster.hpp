#pragma once
// The servers of a chaos run: one Postgres, one Redis (when a replica uses the Redis
// bus) and the ssehub replicas on the Postgres store, each on a port fixed for the
// whole run so that a restarted replica comes back where clients look for it.
//
// Threads: drive it from the main thread only. The Postgres and Redis fixtures kill
// their server when the thread that started it exits, so every (re)start happens
// here. Workload threads only use the ports, which never change.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "postgres_server.hpp"
#include "redis_server.hpp"
#include "schedule.hpp"
#include "test_support.hpp"

namespace ssehub::chaos {

struct ClusterOptions {
  int replicas = 3;
  BusMode bus = BusMode::redis;
  std::string run_dir;  // replica logs are kept here
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options);
  ~Cluster();
  Cluster(const Cluster&) = delete;

  Topology topology() const;
  bool on_redis(int replica) const;
  int replicas() const { return static_cast<int>(slots_.size()); }
  std::vector<std::uint16_t> ports() const;
  const std::string& database() const { return db_; }
  test::PostgresServer& postgres() { return *pg_; }
  test::RedisServer* redis() { return redis_.get(); }

  // SIGKILL on purpose; the replica stays down until start_replica().
  void kill_replica(int r);
  // Starts a downed replica on its port; on failure returns the reason.
  std::optional<std::string> start_replica(int r);
  void pause_replica(int r);
  void resume_replica(int r);
  bool is_up(int r) const;

  // Replicas that exited without being killed on purpose, each as a violation with
  // its exit status and log tail; they are restarted.
  std::vector<std::string> collect_unexpected_exits(std::int64_t now_ms);
  // Polls /health/ready of every replica until all answer 200 or `timeout` passes;
  // a violation per replica that did not.
  std::vector<std::string> wait_all_ready(std::chrono::milliseconds timeout);
  // SIGTERM to every replica: each must exit 0 within the drain window.
  std::vector<std::string> stop_replicas();

  std::size_t restarts() const { return restarts_; }

 private:
  struct Slot {
    std::uint16_t port = 0;
    bool redis = false;
    std::unique_ptr<test::Daemon> daemon;
    bool paused = false;
    int generation = 0;  // numbers the kept logs
  };
  test::Env env_of(const Slot& slot) const;
  // Copies the replica's log into the run directory before its Daemon goes.
  std::string keep_log(int r);

  ClusterOptions options_;
  std::unique_ptr<test::PostgresServer> pg_;
  std::unique_ptr<test::RedisServer> redis_;
  std::string db_;
  std::string url_;
  std::vector<Slot> slots_;
  std::size_t restarts_ = 0;
};

// "exit 0", "signal 13 (Broken pipe)": a Daemon::stop() result as words.
std::string exit_status_text(int rc);

}  // namespace ssehub::chaos
