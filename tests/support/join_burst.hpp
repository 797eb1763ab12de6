#pragma once
// Streams that join a topic new to their replica while batches interleaving it
// with a topic the replica already serves are in flight. Each round publishes a
// burst of such batches through `publish_port`, and opens `streams` streams on
// both topics at random moments into it (no Last-Event-ID) on `stream_port`.
// From the first event a stream receives on, it must receive every event of its
// topics once, in order: a batch delivered in part (the served topic's events,
// not the new one's between them) is a silent gap. Prints the seed; failures are
// gtest failures. `holders` streams on `hot` (opened first, so connections
// alternate over the reactor threads) read and drop everything: they keep `hot`
// served on every thread, and their fan-out keeps the threads busy.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace ssehub::test {

struct JoinBurst {
  std::uint16_t publish_port = 0;
  std::uint16_t stream_port = 0;
  int streams = 1;  // per round, each opened at its own random moment
  int holders = 8;
  int max_rounds = 200;
  std::chrono::milliseconds budget{15000};
  std::function<std::string()> log;  // what a failure shows of the stream replica
};

void check_joins_mid_burst(const JoinBurst& options);

}  // namespace ssehub::test
