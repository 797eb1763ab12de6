#pragma once
// The delivery invariants under concurrency, against one or several replicas:
// publishers in parallel (spread over the replicas), subscribers that reconnect at
// random, each time to a random replica, with their Last-Event-ID. Every
// subscriber must end with every event of its topics exactly once, in increasing
// id order. Failures are reported as gtest failures.

#include <cstdint>
#include <vector>

namespace ssehub::test {

void check_reconnect_chaos(const std::vector<std::uint16_t>& ports);

}  // namespace ssehub::test
