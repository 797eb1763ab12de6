// The delivery invariants under concurrency on the embedded default: see
// reconnect_chaos.hpp.
#include <gtest/gtest.h>

#include "join_burst.hpp"
#include "reconnect_chaos.hpp"
#include "test_support.hpp"

namespace ssehub::test {
namespace {

TEST(Concurrency, ReconnectingSubscribersSeeEveryEventOnceInOrder) {
  Daemon d(Env{{"SSEHUB_STREAM_HEARTBEAT_MS", "200"}});
  check_reconnect_chaos({d.port()});
}

// The same with every fan-out cut into slices of two streams: joins, closes and
// resumes land between the slices of a batch.
TEST(Concurrency, ReconnectingSubscribersSeeEveryEventOnceInOrderInTinySlices) {
  Daemon d(Env{{"SSEHUB_STREAM_HEARTBEAT_MS", "200"}, {"SSEHUB_STREAM_FANOUT_SLICE", "2"}});
  check_reconnect_chaos({d.port()});
}

// A stream joins a topic that no stream on its reactor thread had, while batches
// that interleave it with a topic the thread already serves wait in its inbox: a
// batch routed when it was queued gave it the served topic's events and not the
// new one's between them.
TEST(Concurrency, AStreamJoiningANewTopicMidBurstMissesNothingAfterItsFirstEvent) {
  // The round's streams are read one after the other: their queues hold the rest.
  Daemon d(Env{{"SSEHUB_SERVER_THREADS", "2"},
               {"SSEHUB_STREAM_QUEUE_LIMIT_BYTES", "67108864"},
               {"SSEHUB_STORE_MEMORY_CAPACITY", "1000000"}});
  check_joins_mid_burst({.publish_port = d.port(), .stream_port = d.port(), .log = [&] {
                           return tail(d.log(), 3000);
                         }});
  EXPECT_TRUE(d.running());
}

// The same with fan-out passes of three streams per handler: a stream joins
// between the slices of a batch that holds its topics.
TEST(Concurrency, AStreamJoiningBetweenSlicesOfABatchMissesNothingAfterItsFirstEvent) {
  Daemon d(Env{{"SSEHUB_SERVER_THREADS", "2"},
               {"SSEHUB_STREAM_QUEUE_LIMIT_BYTES", "67108864"},
               {"SSEHUB_STORE_MEMORY_CAPACITY", "1000000"},
               {"SSEHUB_STREAM_FANOUT_SLICE", "3"}});
  check_joins_mid_burst({.publish_port = d.port(), .stream_port = d.port(), .log = [&] {
                           return tail(d.log(), 3000);
                         }});
  EXPECT_TRUE(d.running());
}

}  // namespace
}  // namespace ssehub::test
