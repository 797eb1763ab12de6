#pragma once
// The workload: publishers (HTTP, SQL, probes), subscribers and probe watchers, each
// on its own thread, and what they recorded once they have stopped. Driven by the
// main thread through the phases of Control.

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "context.hpp"
#include "history.hpp"
#include "options.hpp"
#include "probes.hpp"
#include "publishers.hpp"
#include "subscriber.hpp"

namespace ssehub::chaos {

// Operations by outcome, for the summary.
struct OpTally {
  std::size_t ok = 0, ok_events = 0, failed = 0, unknown = 0;
  void add(const std::vector<PublishOp>& ops);
  std::string text() const;
};

class Workload {
 public:
  Workload(const RunContext& ctx, Control& control, const Options& options,
           std::string sql_conninfo);
  // Stops and joins whatever still runs (on an early exit).
  ~Workload();
  Workload(const Workload&) = delete;

  void start();
  // After control.stop_publishing.
  void join_publishers();
  // Once control.draining is set: waits until every subscriber holds the head of
  // its topics, twice in a row with no new commit in between, or the bound passes.
  // Returns the subscribers still behind.
  std::vector<std::string> drain();
  // After control.stop.
  void join_readers();

  // Moves the publishes and subscriber histories into `h` (after both joins).
  void record(History& h);
  void record(FreshnessHistory& h) const;

  OpTally http, sql, probe;
  std::size_t sql_rolled_back = 0;
  std::size_t connections = 0, refused = 0;
  std::map<std::string, std::size_t> connection_ends;  // why subscriber streams ended
  std::vector<int> slow_subscribers;

 private:
  const RunContext& ctx_;
  Control& control_;
  const Options& options_;
  std::string sql_conninfo_;
  std::vector<std::unique_ptr<HttpPublisher>> http_;
  std::unique_ptr<SqlPublisher> sql_;
  std::unique_ptr<ProbePublisher> probe_;
  std::vector<std::unique_ptr<Subscriber>> subscribers_;
  std::vector<std::unique_ptr<ProbeWatcher>> watchers_;
  std::vector<std::thread> publisher_threads_;
  std::vector<std::thread> reader_threads_;
};

}  // namespace ssehub::chaos
