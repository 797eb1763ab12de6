#include "http/router.hpp"

#include <gtest/gtest.h>

#include <random>

namespace ssehub {
namespace {

const RouteLimits kLimits{kMaxTargetBytes, 3};

RouteRequest get(std::string_view target, Method m = Method::get) {
  RouteRequest r;
  r.method = m;
  r.target = target;
  return r;
}

Route routed(const RouteRequest& req) {
  auto r = route(req, kLimits);
  EXPECT_TRUE(std::holds_alternative<Route>(r)) << req.target;
  if (!std::holds_alternative<Route>(r)) return {};
  return std::get<Route>(std::move(r));
}

Refusal refused(const RouteRequest& req) {
  auto r = route(req, kLimits);
  EXPECT_TRUE(std::holds_alternative<Refusal>(r)) << req.target;
  if (!std::holds_alternative<Refusal>(r)) return {};
  return std::get<Refusal>(std::move(r));
}

TEST(Router, NamesEachEndpoint) {
  EXPECT_EQ(routed(get("/events?topic=a")).endpoint, Endpoint::events);
  EXPECT_EQ(routed(get("/publish", Method::post)).endpoint, Endpoint::publish);
  EXPECT_EQ(routed(get("/health/live")).endpoint, Endpoint::live);
  EXPECT_EQ(routed(get("/health/ready")).endpoint, Endpoint::ready);
  EXPECT_EQ(routed(get("/health")).endpoint, Endpoint::ready);
  EXPECT_EQ(routed(get("/metrics")).endpoint, Endpoint::metrics);
}

TEST(Router, ParsesTheStreamRequestWithItsHeader) {
  RouteRequest req = get("/events?topic=a&topic=b&topic=a");
  req.last_event_id = "e-7";
  Route r = routed(req);
  ASSERT_TRUE(r.events);
  EXPECT_EQ(r.events->topics, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.target.path, "/events");
}

TEST(Router, ABadStreamRequestIsRefusedKeepingTheConnection) {
  Refusal r = refused(get("/events?topic=a&topic=b&topic=c&topic=d"));
  EXPECT_EQ(r.error.status, 400u);
  EXPECT_FALSE(r.close);
  EXPECT_EQ(refused(get("/events")).error.status, 400u);
}

TEST(Router, AMalformedTargetClosesTheConnection) {
  Refusal r = refused(get("/e?topic=%zz"));
  EXPECT_EQ(r.error.status, 400u);
  EXPECT_TRUE(r.close);
  Refusal long_url = refused(get("/" + std::string(kMaxTargetBytes, 'a')));
  EXPECT_EQ(long_url.error.status, 414u);
  EXPECT_TRUE(long_url.close);
}

TEST(Router, WrongMethodsNameTheAllowedOnes) {
  struct Case {
    std::string_view target;
    Method method;
    std::string_view allow;
  };
  for (const Case& c :
       {Case{"/events?topic=a", Method::post, "GET"}, Case{"/events?topic=a", Method::head, "GET"},
        Case{"/publish", Method::get, "POST"}, Case{"/health", Method::post, "GET, HEAD"},
        Case{"/metrics", Method::other, "GET, HEAD"}}) {
    Refusal r = refused(get(c.target, c.method));
    EXPECT_EQ(r.error.status, 405u) << c.target;
    EXPECT_EQ(r.error.allow, c.allow) << c.target;
    EXPECT_FALSE(r.close);
  }
}

TEST(Router, HeadIsAProbeWithoutABody) {
  Route r = routed(get("/health/ready", Method::head));
  EXPECT_EQ(r.endpoint, Endpoint::ready);
  EXPECT_TRUE(r.head);
  EXPECT_FALSE(routed(get("/health/ready")).head);
}

TEST(Router, PreflightNeedsAnAllowedOrigin) {
  RouteRequest req = get("/publish", Method::options);
  Refusal r = refused(req);
  EXPECT_EQ(r.error.status, 403u);
  EXPECT_EQ(r.error.code, "origin_not_allowed");
  req.origin_allowed = true;
  EXPECT_EQ(routed(req).endpoint, Endpoint::preflight);
  // OPTIONS elsewhere is a wrong method, not a preflight.
  RouteRequest health = get("/health", Method::options);
  health.origin_allowed = true;
  EXPECT_EQ(refused(health).error.status, 405u);
}

TEST(Router, AtCapacityOnlyProbesAndPreflightsAreAnswered) {
  for (auto target : {"/events?topic=a", "/publish", "/events"}) {
    for (Method m : {Method::get, Method::post}) {
      RouteRequest req = get(target, m);
      req.over_capacity = true;
      Refusal r = refused(req);
      EXPECT_EQ(r.error.status, 503u) << target;
      EXPECT_EQ(r.error.code, "at_capacity");
      EXPECT_TRUE(r.close);
      EXPECT_TRUE(r.capacity);
    }
  }
  RouteRequest probe = get("/health/ready");
  probe.over_capacity = true;
  EXPECT_EQ(routed(probe).endpoint, Endpoint::ready);
  RouteRequest preflight = get("/events", Method::options);
  preflight.over_capacity = true;
  preflight.origin_allowed = true;
  EXPECT_EQ(routed(preflight).endpoint, Endpoint::preflight);
}

TEST(Router, DrainingRefusesNewStreamsButNotPublishes) {
  RouteRequest req = get("/events?topic=a");
  req.draining = true;
  Refusal r = refused(req);
  EXPECT_EQ(r.error.code, "draining");
  EXPECT_TRUE(r.close);
  EXPECT_TRUE(r.capacity);
  // Draining is checked before the request is parsed.
  req.target = "/events";
  EXPECT_EQ(refused(req).error.code, "draining");
  RouteRequest publish = get("/publish", Method::post);
  publish.draining = true;
  EXPECT_EQ(routed(publish).endpoint, Endpoint::publish);
}

TEST(Router, UnknownPathsAreNotFound) {
  for (auto target : {"/", "/event", "/events/x", "/health/", "/Publish"}) {
    Refusal r = refused(get(target));
    EXPECT_EQ(r.error.status, 404u) << target;
    EXPECT_FALSE(r.close);
  }
}

// Any request line gets exactly one answer, and refusals always carry a body code.
TEST(Router, RandomRequestsAlwaysGetOneAnswer) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const std::string pieces[] = {"/events", "/publish", "/health", "/metrics", "?topic=", "a",
                                "%2",      "%41",      "&",       "/",        "=",       "+"};
  for (int i = 0; i < 2000; ++i) {
    std::string target;
    const int n = static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) target += pieces[rng() % std::size(pieces)];
    RouteRequest req = get(target, static_cast<Method>(rng() % 5));
    req.origin_allowed = rng() % 2;
    req.over_capacity = rng() % 4 == 0;
    req.draining = rng() % 4 == 0;
    auto r = route(req, kLimits);
    if (auto* refusal = std::get_if<Refusal>(&r)) {
      EXPECT_FALSE(refusal->error.code.empty()) << target;
      EXPECT_GE(refusal->error.status, 400u) << target;
    } else {
      const Route& ok = std::get<Route>(r);
      EXPECT_EQ(ok.events.has_value(), ok.endpoint == Endpoint::events) << target;
      if (ok.endpoint == Endpoint::events || ok.endpoint == Endpoint::publish) {
        EXPECT_FALSE(req.over_capacity) << target;
      }
    }
  }
}

}  // namespace
}  // namespace ssehub
