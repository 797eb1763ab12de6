#pragma once
// The summary a chaos run prints at its end: what was done, what was checked, and
// the violations (at most 50 lines on stdout, all of them in the run directory).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "history.hpp"
#include "workload.hpp"

namespace ssehub::chaos {

struct RunReport {
  std::uint64_t seed = 0;
  std::string bus;
  int seconds = 0;
  std::map<std::string, int> faults;  // applied, by kind
  std::vector<std::string> skipped;   // faults that found no target
  std::size_t restarts = 0;
  const Workload* workload = nullptr;
  const History* history = nullptr;
  const CheckResult* delivery = nullptr;
  const FreshnessResult* freshness = nullptr;
  // Found by the run itself, "rule: detail": process, readiness, heal, anchor.
  std::vector<std::string> run_violations;
  std::string run_dir;
};

// Prints the summary and writes run_dir/violations.txt; returns the violation count.
std::size_t print_report(const RunReport& r);

}  // namespace ssehub::chaos
