#include "cluster.hpp"

#include <signal.h>

#include <cstring>
#include <fstream>
#include <thread>

#include "child_process.hpp"

namespace ssehub::chaos {
namespace {

using std::chrono::milliseconds;

constexpr int kStartAttempts = 3;
constexpr milliseconds kKillTimeout{5000};
constexpr milliseconds kTermTimeout{15000};
constexpr std::size_t kLogTail = 3000;
constexpr std::size_t kLogTailLines = 15;

// The last lines of a replica's log that say something about its state: stream
// open/close and refused requests left out.
std::string log_tail(const std::string& log) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(start, end - start);
    start = end + 1;
    if (line.find(" stream open ") != std::string::npos ||
        line.find(" stream close ") != std::string::npos ||
        line.find(" request rejected ") != std::string::npos) {
      continue;
    }
    lines.push_back(line.size() > 300 ? line.substr(0, 300) + "..." : line);
  }
  std::string out;
  for (std::size_t i = lines.size() > kLogTailLines ? lines.size() - kLogTailLines : 0;
       i < lines.size(); ++i) {
    out += "    | " + lines[i] + "\n";
  }
  return out;
}

}  // namespace

std::string exit_status_text(int rc) {
  if (rc < 0) return "did not exit in time";
  if (rc > 128 && rc < 128 + 65) {
    return "killed by signal " + std::to_string(rc - 128) + " (" + ::strsignal(rc - 128) + ")";
  }
  return "exit " + std::to_string(rc);
}

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  pg_ = std::make_unique<test::PostgresServer>();
  db_ = "chaos";
  url_ = pg_->create_database(db_);
  if (options_.bus != BusMode::pglog) redis_ = std::make_unique<test::RedisServer>();
  slots_.resize(static_cast<std::size_t>(options_.replicas));
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].port = test::free_port();
    slots_[i].redis =
        options_.bus == BusMode::redis || (options_.bus == BusMode::mixed && i % 2 == 0);
  }
  for (int r = 0; r < replicas(); ++r) {
    if (auto error = start_replica(r)) throw std::runtime_error(*error);
  }
  restarts_ = 0;
}

Cluster::~Cluster() {
  for (int r = 0; r < replicas(); ++r) {
    if (slots_[static_cast<std::size_t>(r)].paused) resume_replica(r);
    if (slots_[static_cast<std::size_t>(r)].daemon) keep_log(r);
  }
  slots_.clear();
  redis_.reset();
  pg_.reset();
}

Topology Cluster::topology() const {
  Topology t;
  t.replicas = replicas();
  t.any_redis = t.any_pglog = false;
  for (const auto& s : slots_) (s.redis ? t.any_redis : t.any_pglog) = true;
  return t;
}

bool Cluster::on_redis(int r) const {
  return slots_[static_cast<std::size_t>(r)].redis;
}

std::vector<std::uint16_t> Cluster::ports() const {
  std::vector<std::uint16_t> out;
  for (const auto& s : slots_) out.push_back(s.port);
  return out;
}

test::Env Cluster::env_of(const Slot& slot) const {
  test::Env env = {
      {"SSEHUB_SERVER_LISTEN", "127.0.0.1:" + std::to_string(slot.port)},
      {"SSEHUB_SERVER_THREADS", "2"},
      {"SSEHUB_SERVER_DRAIN_TIMEOUT_MS", "2000"},
      {"SSEHUB_STORE_KIND", "postgres"},
      {"SSEHUB_STORE_POSTGRES_URL", url_},
      {"SSEHUB_STORE_PUBLISH_TIMEOUT_MS", "2000"},
      {"SSEHUB_STREAM_HEARTBEAT_MS", "1000"},
      {"SSEHUB_STREAM_QUEUE_LIMIT_BYTES", "4194304"},
      {"SSEHUB_REPLAY_LIMIT", "5000"},
      {"SSEHUB_REPLAY_TIMEOUT_MS", "1500"},
      {"SSEHUB_REPLAY_MAX_CONCURRENT", "4"},
      {"SSEHUB_BUS_KIND", slot.redis ? "redis" : "local"},
      // A fan-out of one to three streams per handler: the run's few subscribers
      // then see passes cut into many slices, with joins, closes and faults between.
      {"SSEHUB_STREAM_FANOUT_SLICE", std::to_string(1 + (&slot - slots_.data()) % 3)},
  };
  if (slot.redis) {
    env["SSEHUB_BUS_REDIS_URL"] = redis_->url();
    env["SSEHUB_BUS_SENTINEL_INTERVAL_MS"] = "300";
    env["SSEHUB_BUS_SENTINEL_TIMEOUT_MS"] = "500";
  }
  return env;
}

std::string Cluster::keep_log(int r) {
  Slot& s = slots_[static_cast<std::size_t>(r)];
  if (!s.daemon) return "";
  std::string text = s.daemon->log();
  if (!options_.run_dir.empty()) {
    std::ofstream(options_.run_dir + "/replica-" + std::to_string(r) + "." +
                  std::to_string(s.generation) + ".log")
        << text;
  }
  ++s.generation;
  return text;
}

void Cluster::kill_replica(int r) {
  Slot& s = slots_[static_cast<std::size_t>(r)];
  if (!s.daemon) return;
  if (s.paused) resume_replica(r);
  s.daemon->stop(SIGKILL, kKillTimeout);
  keep_log(r);
  s.daemon.reset();
}

std::optional<std::string> Cluster::start_replica(int r) {
  Slot& s = slots_[static_cast<std::size_t>(r)];
  if (s.daemon) return std::nullopt;
  std::string error;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    try {
      s.daemon = std::make_unique<test::Daemon>(env_of(s));
      ++restarts_;
      return std::nullopt;
    } catch (const std::exception& e) {
      error = e.what();
      std::this_thread::sleep_for(milliseconds(500));
    }
  }
  return "replica " + std::to_string(r) + " did not start on port " + std::to_string(s.port) +
         " after " + std::to_string(kStartAttempts) + " attempts: " + test::tail(error, kLogTail);
}

void Cluster::pause_replica(int r) {
  Slot& s = slots_[static_cast<std::size_t>(r)];
  if (!s.daemon || s.paused) return;
  ::kill(s.daemon->pid(), SIGSTOP);
  test::wait_states({s.daemon->pid()}, std::string("tT\0", 3), milliseconds(2000));
  s.paused = true;
}

void Cluster::resume_replica(int r) {
  Slot& s = slots_[static_cast<std::size_t>(r)];
  if (!s.paused) return;
  if (s.daemon) ::kill(s.daemon->pid(), SIGCONT);
  s.paused = false;
}

bool Cluster::is_up(int r) const {
  return slots_[static_cast<std::size_t>(r)].daemon != nullptr;
}

std::vector<std::string> Cluster::collect_unexpected_exits(std::int64_t now_ms) {
  std::vector<std::string> out;
  for (int r = 0; r < replicas(); ++r) {
    Slot& s = slots_[static_cast<std::size_t>(r)];
    if (!s.daemon || s.daemon->pid() <= 0 || !test::has_exited(s.daemon->pid())) continue;
    const pid_t pid = s.daemon->pid();
    const int rc = s.daemon->stop(0, milliseconds(2000));
    s.paused = false;
    const std::string log = keep_log(r);
    s.daemon.reset();
    std::string v = "process: replica " + std::to_string(r) + " (pid " + std::to_string(pid) +
                    ") died on its own near t=" + std::to_string(now_ms) +
                    "ms: " + exit_status_text(rc) + "; its log ends:\n" + log_tail(log);
    if (auto error = start_replica(r)) v += "\nand it did not come back: " + *error;
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<std::string> Cluster::wait_all_ready(milliseconds timeout) {
  std::vector<std::string> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int r = 0; r < replicas(); ++r) {
    Slot& s = slots_[static_cast<std::size_t>(r)];
    test::HttpResponse last;
    bool ready = false;
    while (s.daemon) {
      last = test::http(s.port, "GET", "/health/ready", "", {}, milliseconds(1000));
      if (last.status == 200) {
        ready = true;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(milliseconds(200));
    }
    if (!ready) {
      out.push_back("readiness: replica " + std::to_string(r) + " not ready " +
                    std::to_string(timeout.count()) + " ms after the faults were healed: " +
                    (s.daemon ? "status " + std::to_string(last.status) + " " + last.body
                              : std::string("not running")));
    }
  }
  return out;
}

std::vector<std::string> Cluster::stop_replicas() {
  std::vector<std::string> out;
  for (int r = 0; r < replicas(); ++r) {
    Slot& s = slots_[static_cast<std::size_t>(r)];
    if (!s.daemon) continue;
    resume_replica(r);
    const pid_t pid = s.daemon->pid();
    const int rc = s.daemon->stop(SIGTERM, kTermTimeout);
    const std::string log = keep_log(r);
    s.daemon.reset();
    if (rc != 0) {
      out.push_back("process: replica " + std::to_string(r) + " (pid " + std::to_string(pid) +
                    ") on SIGTERM: " + exit_status_text(rc) + "; its log ends:\n" + log_tail(log));
    }
  }
  return out;
}

}  // namespace ssehub::chaos
