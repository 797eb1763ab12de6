// Several replicas on one database: live events cross replicas through the log,
// and the delivery invariants hold under concurrency (see reconnect_chaos.hpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "pg_test_support.hpp"
#include "reconnect_chaos.hpp"

namespace ssehub::test {
namespace {

using PostgresReplicas = PostgresTest;

TEST_F(PostgresReplicas, EventPublishedOnOneReachesStreamsOnTheOther) {
  Daemon a(pg_env()), b(pg_env());
  SseStream on_b(b.port(), "/events?topic=x");
  ASSERT_TRUE(open_ready(on_b));
  auto ids = publish(a.port(), R"({"topic":"x","type":"t","data":1})");
  ASSERT_EQ(ids.size(), 1u);
  auto e = on_b.next_non_heartbeat(3000ms);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, ids[0]);
}

TEST_F(PostgresReplicas, TwoReplicasReconnectingSubscribersSeeEveryEventOnceInOrder) {
  Daemon a(pg_env()), b(pg_env());
  check_reconnect_chaos({a.port(), b.port()});
}

}  // namespace
}  // namespace ssehub::test
