#pragma once
// The publishing side of the workload. Each publisher is the body of one thread and
// records every operation with its outcome; its record is read after the thread ends.

#include <vector>

#include "context.hpp"
#include "history.hpp"
#include "schedule.hpp"

namespace ssehub::chaos {

// POST /publish to random replicas: single events and arrays of up to
// server.max_publish_batch, data from a few bytes to near server.max_body_bytes.
class HttpPublisher {
 public:
  HttpPublisher(int index, const RunContext& ctx, Rng rng);
  void run(const Control& control);

  std::vector<PublishOp> ops;

 private:
  std::string build_body(std::size_t n, bool heavy, PublishOp& op);
  void send(int replica, const std::string& body, PublishOp op);

  int index_;
  const RunContext& ctx_;
  Rng rng_;
  std::uint64_t counter_ = 0;
  std::uint64_t bursts_seen_ = 0;
};

// Transactions in SQL exactly as docs/publishing.md shows, on the same database:
// some committed, some rolled back.
class SqlPublisher {
 public:
  SqlPublisher(const RunContext& ctx, std::string conninfo, Rng rng);
  void run(const Control& control);

  std::vector<PublishOp> ops;
  std::size_t rolled_back = 0;

 private:
  const RunContext& ctx_;
  std::string conninfo_;
  Rng rng_;
  std::uint64_t counter_ = 0;
};

}  // namespace ssehub::chaos
