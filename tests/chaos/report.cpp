#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace ssehub::chaos {
namespace {

constexpr std::size_t kPrintedViolations = 50;

void say(const std::string& line) {
  std::printf("chaos: %s\n", line.c_str());
}

template <typename Map>
std::string listed(const Map& counts, const std::string& none = "none") {
  std::string s;
  for (const auto& [k, n] : counts) s += (s.empty() ? "" : ", ") + k + " " + std::to_string(n);
  return s.empty() ? none : s;
}

void print_subscribers(const RunReport& r) {
  const auto& w = *r.workload;
  for (const auto& t : r.delivery->subscribers) {
    const auto& sub = r.history->subscribers[static_cast<std::size_t>(t.id)];
    std::string topics;
    for (const auto& topic : sub.topics) topics += (topics.empty() ? "" : ",") + topic;
    const bool slow = std::find(w.slow_subscribers.begin(), w.slow_subscribers.end(), t.id) !=
                      w.slow_subscribers.end();
    say("  subscriber " + std::to_string(t.id) + " [" + topics + "]" + (slow ? " slow" : "") +
        ": " + std::to_string(t.connections) + " connections, " + std::to_string(t.received) +
        " events received, " + std::to_string(t.required) + " required, " +
        std::to_string(t.excused) + " excused, " + std::to_string(t.lost) + " lost");
  }
}

}  // namespace

std::size_t print_report(const RunReport& r) {
  const auto& w = *r.workload;
  const auto& d = *r.delivery;
  say("seed " + std::to_string(r.seed) + ", bus " + r.bus + ", " + std::to_string(r.seconds) +
      " s");
  say("faults: " + listed(r.faults) + "; " + std::to_string(r.skipped.size()) + " skipped; " +
      std::to_string(r.restarts) + " replica restarts");
  for (const auto& s : r.skipped) say("  skipped: " + s);
  say("publishes: http " + w.http.text() + "; sql " + w.sql.text() + " (" +
      std::to_string(w.sql_rolled_back) + " rolled back on purpose); probes " + w.probe.text());
  say("events committed: " + std::to_string(r.history->committed.size()) + " (head " +
      std::to_string(r.history->head) + ")");
  say("deliveries checked: " + std::to_string(d.deliveries_checked) + " over " +
      std::to_string(w.connections) + " connections (" + std::to_string(w.refused) +
      " refused); required " + std::to_string(d.events_required) +
      ", excused by replay-truncated/replay-failed " + std::to_string(d.events_excused) +
      ", lost " + std::to_string(d.events_lost) + "; freshness probes checked " +
      std::to_string(r.freshness->probes_checked));
  print_subscribers(r);
  say("subscriber connections ended: " + listed(w.connection_ends));
  say("control events received: " + listed(d.control_events));

  // The run's own violations count one each; the checkers' are listed up to a cap
  // per rule, so their counts come from the checkers.
  KindCounts kinds = d.kinds;
  for (const auto& [k, n] : r.freshness->kinds) kinds[k] += n;
  for (const auto& v : r.run_violations) ++kinds[v.substr(0, v.find(':'))];
  std::size_t total = 0;
  for (const auto& [k, n] : kinds) total += n;
  say("violations: " + std::to_string(total) + " (by rule: " + listed(kinds) + ")");

  std::vector<std::string> lines = r.run_violations;
  lines.insert(lines.end(), d.violations.begin(), d.violations.end());
  lines.insert(lines.end(), r.freshness->violations.begin(), r.freshness->violations.end());
  for (std::size_t i = 0; i < lines.size() && i < kPrintedViolations; ++i) {
    std::printf("  - %s\n", lines[i].c_str());
  }
  if (lines.size() > kPrintedViolations) {
    say(std::to_string(lines.size() - kPrintedViolations) + " more lines not shown; all in " +
        r.run_dir + "/violations.txt");
  }
  std::ofstream out(r.run_dir + "/violations.txt");
  for (const auto& v : lines) out << v << "\n";
  std::fflush(stdout);
  return total;
}

}  // namespace ssehub::chaos
