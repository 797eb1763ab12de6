// ssehub_chaos: a randomized fault-injection run with a history checker.
//
// Real Postgres and Redis, several ssehub replicas on the Postgres store; publishers
// (HTTP and SQL) and reconnecting subscribers record everything they do while a
// nemesis kills and pauses processes on a schedule drawn from one seed. Afterwards
// the faults are healed, the subscribers drain, and the whole history is checked
// against the delivery model (history.hpp). Exit 0 only without violations.
//
//   ssehub_chaos [--seed S] [--seconds N] [--bus redis|pglog|mixed] [--replicas N]
//                [--subscribers N] [--stale-ms MS] [--keep-logs] [--print-schedule]

#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>
#include <thread>

#include "child_process.hpp"
#include "cluster.hpp"
#include "context.hpp"
#include "history.hpp"
#include "nemesis.hpp"
#include "options.hpp"
#include "report.hpp"
#include "schedule.hpp"
#include "store_reader.hpp"
#include "workload.hpp"

namespace ssehub::chaos {
namespace {

constexpr Ms kReadyBound{30000};
constexpr Ms kSettle{2500};  // store.publish_timeout_ms and a margin: late commits land
constexpr Ms kTick{20};

void raise_open_files_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

void say(const std::string& line) {
  std::printf("chaos: %s\n", line.c_str());
  std::fflush(stdout);
}

// Set-up, the faulty period, healing, the drain, the checks: true without violations.
bool run(const Options& o, const std::string& run_dir) {
  const auto began = std::chrono::steady_clock::now();
  Cluster cluster({o.replicas, o.bus, run_dir});
  std::string layout;
  for (int r = 0; r < cluster.replicas(); ++r) {
    layout += (r ? ", " : "") + std::to_string(r) + (cluster.on_redis(r) ? " redis" : " pglog");
  }
  say("replicas: " + layout + "; postgres port " + std::to_string(cluster.postgres().port()) +
      (cluster.redis() ? ", redis port " + std::to_string(cluster.redis()->port()) : ""));

  RunContext ctx;
  ctx.ports = cluster.ports();
  ctx.conninfo = checker_conninfo(cluster.postgres().port(), cluster.database());
  ctx.epoch = read_epoch(ctx.conninfo);
  ctx.topics = {"a", "b", "c", "d", "e"};
  const std::int64_t run_ms = std::int64_t{o.seconds} * 1000;
  const auto schedule = make_schedule(o.seed, run_ms, cluster.topology());
  say(std::to_string(schedule.size()) + " faults scheduled over " + std::to_string(o.seconds) +
      " s");

  Control control;
  Workload workload(
      ctx, control, o,
      checker_conninfo(cluster.postgres().port(), cluster.database(), "chaos-sql-publisher"));
  workload.start();
  Nemesis nemesis(cluster, schedule, [&control](const Fault& f) {
    if (f.kind == FaultKind::redis_kill_normal || f.kind == FaultKind::redis_kill_pubsub) {
      ++control.heavy_bursts;
    }
  });
  RunReport report;
  auto collect_exits = [&] {
    for (auto& v : cluster.collect_unexpected_exits(ctx.clock.now_ms())) {
      say(v.substr(0, v.find('\n')));
      report.run_violations.push_back(std::move(v));
    }
  };
  while (ctx.clock.now_ms() < run_ms) {
    nemesis.tick(ctx.clock.now_ms());
    collect_exits();
    std::this_thread::sleep_for(kTick);
  }

  nemesis.heal();
  say("faults healed at t=" + std::to_string(ctx.clock.now_ms()) + "ms; stopping publishers");
  control.stop_publishing = true;
  workload.join_publishers();
  collect_exits();
  for (auto& v : cluster.wait_all_ready(kReadyBound)) report.run_violations.push_back(v);
  std::this_thread::sleep_for(kSettle);
  say("draining subscribers at t=" + std::to_string(ctx.clock.now_ms()) + "ms");
  control.draining = true;
  for (const auto& b : workload.drain()) say("drain: " + b);
  control.stop = true;
  workload.join_readers();
  collect_exits();
  for (auto& v : cluster.stop_replicas()) report.run_violations.push_back(v);
  for (const auto& f : nemesis.failures()) report.run_violations.push_back(f);

  History history;
  read_ground_truth(ctx.conninfo, history);
  workload.record(history);
  for (const auto& s : history.subscribers) {
    if (!s.start) {
      report.run_violations.push_back("anchor: subscriber " + std::to_string(s.id) +
                                      " never got a `ready` it could anchor on");
    }
  }
  FreshnessHistory freshness;
  freshness.bound_ms = o.stale_ms;
  workload.record(freshness);
  const CheckResult delivery = check_delivery(history);
  const FreshnessResult fresh = check_freshness(freshness);

  report.seed = o.seed;
  report.bus = o.bus_name;
  report.seconds = o.seconds;
  for (const auto& [kind, n] : nemesis.applied()) report.faults[kind] = n;
  report.skipped = nemesis.skipped();
  report.restarts = cluster.restarts();
  report.workload = &workload;
  report.history = &history;
  report.delivery = &delivery;
  report.freshness = &fresh;
  report.run_dir = run_dir;
  const std::size_t violations = print_report(report);
  const auto took =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - began);
  say("took " + std::to_string(took.count()) + " s");
  return violations == 0;
}

}  // namespace
}  // namespace ssehub::chaos

int main(int argc, char** argv) {
  using namespace ssehub::chaos;
  const Options o = parse_options(argc, argv);
  std::printf("chaos: seed %llu\n", static_cast<unsigned long long>(o.seed));
  std::printf("chaos: replay with: ssehub_chaos --seed %llu --seconds %d --bus %s --replicas %d\n",
              static_cast<unsigned long long>(o.seed), o.seconds, o.bus_name.c_str(), o.replicas);
  std::fflush(stdout);
  if (o.print_schedule) {
    const Topology t = make_topology(o.bus, o.replicas);
    for (const auto& f : make_schedule(o.seed, std::int64_t{o.seconds} * 1000, t)) {
      std::printf("t=%lldms %s\n", static_cast<long long>(f.at_ms), describe(f).c_str());
    }
    return 0;
  }
  // The replicas inherit this disposition: one that writes to a closed socket without
  // guarding against SIGPIPE must die of it here as it would in production.
  ::signal(SIGPIPE, SIG_DFL);
  raise_open_files_limit();
  const std::string run_dir =
      ssehub::test::make_temp_dir("/tmp/ssehub-chaos-" + std::to_string(o.seed) + "-");
  bool passed = false;
  try {
    passed = run(o, run_dir);
  } catch (const std::exception& e) {
    say(std::string("error: ") + e.what());
  }
  if (passed && !o.keep_logs) {
    ssehub::test::remove_tree(run_dir);
  } else {
    say("logs kept in " + run_dir);
  }
  std::printf("chaos: %d passed, %d failed\n", passed ? 1 : 0, passed ? 0 : 1);
  return passed ? 0 : 1;
}
