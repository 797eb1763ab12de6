// The freshness checker on small hand-made histories: a probe in time, a ready
// replica that does not deliver, and what excuses a late probe.
#include <gtest/gtest.h>

#include "history.hpp"

namespace ssehub::chaos {
namespace {

FreshnessHistory fresh_history() {
  FreshnessHistory h;
  h.bound_ms = 1000;
  h.min_samples = 2;
  h.probes.push_back({10, 1000, 1050});
  for (std::int64_t t = 0; t <= 4000; t += 250) h.readiness.push_back({0, t, 200});
  ProbeStream s;
  s.replica = 0;
  s.ready_ms = 500;
  s.end_ms = 5000;
  h.streams.push_back(s);
  return h;
}

TEST(FreshnessChecker, AProbeInTimePasses) {
  auto h = fresh_history();
  h.streams[0].received.push_back({10, 1100});
  const auto r = check_freshness(h);
  EXPECT_TRUE(r.violations.empty());
  EXPECT_EQ(r.probes_checked, 1u);
}

TEST(FreshnessChecker, AReadyReplicaThatDoesNotDeliverIsAViolation) {
  auto h = fresh_history();
  auto r = check_freshness(h);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("never arrived"), std::string::npos) << r.violations[0];
  h.streams[0].received.push_back({10, 3000});  // late
  r = check_freshness(h);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("1950 ms after its 201"), std::string::npos) << r.violations[0];
}

TEST(FreshnessChecker, AReplicaThatSaidItWasNotReadyIsExcused) {
  auto h = fresh_history();
  h.readiness[6].status = 503;  // t=1500
  const auto r = check_freshness(h);
  EXPECT_TRUE(r.violations.empty());
  EXPECT_EQ(r.probes_checked, 0u);
}

TEST(FreshnessChecker, OnlyStreamsSubscribedBeforeThePublishAndOpenThroughTheBoundCount) {
  auto h = fresh_history();
  h.streams[0].ready_ms = 1020;  // subscribed after the publish was sent
  EXPECT_TRUE(check_freshness(h).violations.empty());
  h = fresh_history();
  h.streams[0].end_ms = 1800;  // ended before the bound
  EXPECT_TRUE(check_freshness(h).violations.empty());
}

TEST(FreshnessChecker, AStreamToldOfTheGapInTimeIsExcused) {
  auto h = fresh_history();
  h.streams[0].notices.push_back({Seq{12}, 1400});  // replay-truncated resuming at 12
  auto r = check_freshness(h);
  EXPECT_TRUE(r.violations.empty()) << r.violations[0];

  h = fresh_history();
  h.streams[0].notices.push_back({std::nullopt, 1300});  // replay-failed after the publish
  EXPECT_TRUE(check_freshness(h).violations.empty());
}

TEST(FreshnessChecker, ANoticeThatDoesNotCoverTheProbeOrComesLateExcusesNothing) {
  auto h = fresh_history();
  h.streams[0].notices.push_back({Seq{9}, 1400});  // resumes below the probe
  EXPECT_EQ(check_freshness(h).violations.size(), 1u);
  h = fresh_history();
  h.streams[0].notices.push_back({Seq{12}, 2500});  // after the bound
  EXPECT_EQ(check_freshness(h).violations.size(), 1u);
  h = fresh_history();
  h.streams[0].notices.push_back({std::nullopt, 900});  // before the probe was sent
  EXPECT_EQ(check_freshness(h).violations.size(), 1u);
}

// ---- schedule ---------------------------------------------------------------------

}  // namespace
}  // namespace ssehub::chaos
