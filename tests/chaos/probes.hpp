#pragma once
// Freshness probes: a publisher that sends one small event on the probe topic every
// few hundred milliseconds, and per replica a stream on that topic and a poller of
// /health/ready. check_freshness() then asks whether a replica that said it was
// ready was in fact delivering. Each run() is the body of one thread; the records
// are read after the threads end.

#include <vector>

#include "context.hpp"
#include "history.hpp"
#include "schedule.hpp"

namespace ssehub::chaos {

class ProbePublisher {
 public:
  ProbePublisher(const RunContext& ctx, Rng rng);
  // Until control.stop_publishing.
  void run(const Control& control);

  std::vector<PublishOp> ops;
  std::vector<ProbePublish> probes;

 private:
  const RunContext& ctx_;
  Rng rng_;
  std::uint64_t counter_ = 0;
};

class ProbeWatcher {
 public:
  ProbeWatcher(int replica, const RunContext& ctx);
  // Holds a stream on the probe topic to this replica, reconnecting; until control.stop.
  void run_stream(const Control& control);
  // Polls /health/ready; until control.stop.
  void run_readiness(const Control& control);

  std::vector<ProbeStream> streams;
  std::vector<ReadinessSample> samples;

 private:
  int replica_;
  const RunContext& ctx_;
};

}  // namespace ssehub::chaos
