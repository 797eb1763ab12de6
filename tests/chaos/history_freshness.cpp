// The freshness checker: every probe published while a replica was ready reached
// its probe streams within the bound, or they were told of a gap that covers it.
#include <algorithm>

#include "history_checks.hpp"

namespace ssehub::chaos {

namespace {

struct StaleProbe {
  const ProbePublish* probe;
  std::optional<std::int64_t> got_ms;
};

// True when every sample of `replica` in [from, to] is 200, and there are enough.
bool ready_throughout(const std::vector<ReadinessSample>& samples, int replica, std::int64_t from,
                      std::int64_t to, std::size_t min_samples) {
  auto it = std::lower_bound(samples.begin(), samples.end(), from,
                             [](const ReadinessSample& s, std::int64_t t) { return s.at_ms < t; });
  std::size_t n = 0;
  for (; it != samples.end() && it->at_ms <= to; ++it) {
    if (it->replica != replica) continue;
    if (it->status != 200) return false;
    ++n;
  }
  return n >= min_samples;
}

// True when `s` was told, within the bound, of a gap that covers probe `p`.
bool told_of_gap(const ProbeStream& s, const ProbePublish& p, std::int64_t until) {
  for (const auto& n : s.notices) {
    if (n.at_ms > until) continue;
    if (n.resume ? *n.resume >= p.seq : n.at_ms >= p.sent_ms) return true;
  }
  return false;
}

void report_stale(const ProbeStream& s, std::size_t index, const std::vector<StaleProbe>& run,
                  std::int64_t bound_ms, Report& report) {
  const auto& first = run.front();
  std::string got = first.got_ms ? "the first arrived " +
                                       std::to_string(*first.got_ms - first.probe->acked_ms) +
                                       " ms after its 201"
                                 : "the first never arrived";
  report.add("freshness: replica " + std::to_string(s.replica),
             "freshness: replica " + std::to_string(s.replica) +
                 " answered /health/ready 200 throughout, but its probe stream #" +
                 std::to_string(index) + " got " + std::to_string(run.size()) + " probes (seq " +
                 std::to_string(first.probe->seq) + ".." + std::to_string(run.back().probe->seq) +
                 ", acknowledged t=" + std::to_string(first.probe->acked_ms) + ".." +
                 std::to_string(run.back().probe->acked_ms) + " ms) later than " +
                 std::to_string(bound_ms) + " ms or never; " + got);
}

void check_probes(const FreshnessHistory& h, Report& report, FreshnessResult& result) {
  std::vector<ReadinessSample> samples = h.readiness;
  std::sort(samples.begin(), samples.end(),
            [](const auto& a, const auto& b) { return a.at_ms < b.at_ms; });
  std::vector<const ProbePublish*> probes;
  for (const auto& p : h.probes) probes.push_back(&p);
  std::sort(probes.begin(), probes.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
  for (std::size_t i = 0; i < h.streams.size(); ++i) {
    const ProbeStream& s = h.streams[i];
    if (!s.ready_ms) continue;
    std::unordered_map<Seq, std::int64_t> got;
    for (const auto& r : s.received) got.emplace(r.seq, r.at_ms);
    std::vector<StaleProbe> run;
    for (const auto* p : probes) {
      const std::int64_t until = p->acked_ms + h.bound_ms;
      if (*s.ready_ms > p->sent_ms || s.end_ms < until) continue;
      if (!ready_throughout(samples, s.replica, p->sent_ms, until, h.min_samples)) continue;
      ++result.probes_checked;
      auto it = got.find(p->seq);
      if ((it != got.end() && it->second <= until) || told_of_gap(s, *p, until)) {
        if (!run.empty()) report_stale(s, i, run, h.bound_ms, report);
        run.clear();
        continue;
      }
      run.push_back({p, it == got.end() ? std::nullopt : std::optional(it->second)});
    }
    if (!run.empty()) report_stale(s, i, run, h.bound_ms, report);
  }
}

}  // namespace

FreshnessResult check_freshness(const FreshnessHistory& h) {
  FreshnessResult result;
  {
    Report report(result.violations, result.kinds);
    check_probes(h, report, result);
  }
  return result;
}

}  // namespace ssehub::chaos