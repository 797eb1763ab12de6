#include "nemesis.hpp"

#include <signal.h>

#include <algorithm>
#include <cstdio>

#include "child_process.hpp"

namespace ssehub::chaos {

Nemesis::Nemesis(Cluster& cluster, std::vector<Fault> schedule,
                 std::function<void(const Fault&)> applied)
    : cluster_(cluster), schedule_(std::move(schedule)), on_applied_(std::move(applied)) {}

void Nemesis::tick(std::int64_t now_ms) {
  if (active_ && now_ms >= heal_at_) heal();
  if (active_ || next_ >= schedule_.size() || now_ms < schedule_[next_].at_ms) return;
  const Fault f = schedule_[next_++];
  std::printf("nemesis: t=%lldms %s (scheduled at %lldms)\n", static_cast<long long>(now_ms),
              describe(f).c_str(), static_cast<long long>(f.at_ms));
  std::fflush(stdout);
  if (!apply(f)) return;
  ++applied_[to_string(f.kind)];
  if (on_applied_) on_applied_(f);
  if (f.duration_ms > 0) {
    active_ = f;
    heal_at_ = now_ms + f.duration_ms;
  }
}

void Nemesis::heal() {
  if (!active_) return;
  const Fault f = *active_;
  active_.reset();
  undo(f);
}

bool Nemesis::is_our_backend(pid_t pid) {
  const pid_t postmaster = cluster_.postgres().pid();
  return postmaster > 0 && test::proc_stat(pid).ppid == postmaster;
}

std::vector<pid_t> Nemesis::backends(const Fault& f) {
  std::vector<pid_t> pids;
  try {
    const auto rows = cluster_.postgres().query(
        "postgres", "SELECT pid FROM pg_stat_activity WHERE datname = '" + cluster_.database() +
                        "' AND application_name = 'ssehub-" + f.role + "' ORDER BY pid");
    for (const auto& row : rows) {
      const auto pid = static_cast<pid_t>(std::stol(row.at(0)));
      if (is_our_backend(pid)) pids.push_back(pid);
    }
  } catch (const std::exception& e) {
    std::string why = e.what();
    std::replace(why.begin(), why.end(), '\n', ' ');
    skipped_.push_back(describe(f) + ": pg_stat_activity: " + why);
    return {};
  }
  if (pids.empty()) skipped_.push_back(describe(f) + ": no such backend");
  if (!f.all && pids.size() > 1) {
    pids = {pids[static_cast<std::size_t>(f.at_ms) % pids.size()]};
  }
  return pids;
}

bool Nemesis::apply(const Fault& f) {
  try {
    switch (f.kind) {
      case FaultKind::replica_kill:
        if (!cluster_.is_up(f.replica)) break;
        cluster_.kill_replica(f.replica);
        return true;
      case FaultKind::replica_pause:
        if (!cluster_.is_up(f.replica)) break;
        cluster_.pause_replica(f.replica);
        return true;
      case FaultKind::redis_kill:
        cluster_.redis()->kill_hard();
        return true;
      case FaultKind::redis_pause:
        cluster_.redis()->pause();
        return true;
      case FaultKind::redis_kill_pubsub:
      case FaultKind::redis_kill_normal: {
        const char* type = f.kind == FaultKind::redis_kill_pubsub ? "pubsub" : "normal";
        const std::string killed = cluster_.redis()->command({"CLIENT", "KILL", "TYPE", type});
        std::printf("nemesis:   %s clients killed: %s\n", type, killed.c_str());
        return true;
      }
      case FaultKind::pg_backend_pause:
      case FaultKind::pg_backend_kill: {
        const auto pids = backends(f);
        if (pids.empty()) return false;
        const int sig = f.kind == FaultKind::pg_backend_pause ? SIGSTOP : SIGKILL;
        std::string list;
        for (pid_t pid : pids) {
          ::kill(pid, sig);
          list += " " + std::to_string(pid);
        }
        if (sig == SIGSTOP) stopped_ = pids;
        std::printf("nemesis:   backends%s\n", list.c_str());
        return true;
      }
      case FaultKind::pg_restart:
        if (f.hard) {
          cluster_.postgres().kill_hard();
        } else {
          cluster_.postgres().stop();
        }
        return true;
    }
  } catch (const std::exception& e) {
    skipped_.push_back(describe(f) + ": " + e.what());
    return false;
  }
  skipped_.push_back(describe(f) + ": target not running");
  return false;
}

void Nemesis::undo(const Fault& f) {
  try {
    switch (f.kind) {
      case FaultKind::replica_kill:
        if (auto error = cluster_.start_replica(f.replica)) failures_.push_back("heal: " + *error);
        break;
      case FaultKind::replica_pause:
        cluster_.resume_replica(f.replica);
        break;
      case FaultKind::redis_kill:
        cluster_.redis()->start();
        break;
      case FaultKind::redis_pause:
        cluster_.redis()->resume();
        break;
      case FaultKind::pg_backend_pause:
        for (pid_t pid : stopped_) {
          if (is_our_backend(pid)) ::kill(pid, SIGCONT);
        }
        stopped_.clear();
        break;
      case FaultKind::pg_restart:
        cluster_.postgres().start();
        break;
      case FaultKind::redis_kill_pubsub:
      case FaultKind::redis_kill_normal:
      case FaultKind::pg_backend_kill:
        break;
    }
  } catch (const std::exception& e) {
    failures_.push_back("heal: " + describe(f) + " failed: " + e.what());
  }
}

}  // namespace ssehub::chaos
