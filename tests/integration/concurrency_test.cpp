// The delivery invariants under concurrency on the embedded default: see
// reconnect_chaos.hpp.
#include <gtest/gtest.h>

#include "reconnect_chaos.hpp"
#include "test_support.hpp"

namespace ssehub::test {
namespace {

TEST(Concurrency, ReconnectingSubscribersSeeEveryEventOnceInOrder) {
  Daemon d(Env{{"SSEHUB_STREAM_HEARTBEAT_MS", "200"}});
  check_reconnect_chaos({d.port()});
}

}  // namespace
}  // namespace ssehub::test
