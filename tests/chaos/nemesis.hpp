#pragma once
// Applies the fault schedule to the cluster and heals each fault when its time has
// come. Driven by the main thread (tick() every few milliseconds), like the Cluster
// it acts on. Only processes the run started are signalled: replicas and Redis
// through the cluster, Postgres backends by pid after checking that their parent is
// our own postmaster.

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster.hpp"
#include "schedule.hpp"

namespace ssehub::chaos {

class Nemesis {
 public:
  // `applied` is called after each fault is applied (on this thread).
  Nemesis(Cluster& cluster, std::vector<Fault> schedule,
          std::function<void(const Fault&)> applied = {});

  // Heals the fault in progress when its time has come, then starts the next one
  // when it is due. `now_ms` is the workload's clock.
  void tick(std::int64_t now_ms);
  // Heals the fault in progress, if any; no further fault starts.
  void heal();

  // Faults applied, by kind name.
  const std::map<std::string, int>& applied() const { return applied_; }
  // Faults that could not be applied (no backend of that role, a failed command...).
  const std::vector<std::string>& skipped() const { return skipped_; }
  // Heals that failed (a replica that did not restart...): violations.
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  bool apply(const Fault& f);
  void undo(const Fault& f);
  std::vector<pid_t> backends(const Fault& f);
  bool is_our_backend(pid_t pid);

  Cluster& cluster_;
  std::vector<Fault> schedule_;
  std::function<void(const Fault&)> on_applied_;
  std::size_t next_ = 0;
  std::optional<Fault> active_;
  std::int64_t heal_at_ = 0;
  std::vector<pid_t> stopped_;  // backends paused by the active fault
  std::map<std::string, int> applied_;
  std::vector<std::string> skipped_;
  std::vector<std::string> failures_;
};

}  // namespace ssehub::chaos
