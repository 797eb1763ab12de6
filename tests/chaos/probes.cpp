#include "probes.hpp"

#include <nlohmann/json.hpp>

#include "http_post.hpp"
#include "test_support.hpp"

namespace ssehub::chaos {
namespace {

constexpr Ms kProbeEvery{400};
constexpr Ms kProbeTimeout{4000};
constexpr Ms kReadyEvery{250};
constexpr Ms kReadyTimeout{500};
constexpr Ms kSilence{3000};

}  // namespace

ProbePublisher::ProbePublisher(const RunContext& ctx, Rng rng) : ctx_(ctx), rng_(rng) {}

void ProbePublisher::run(const Control& control) {
  while (nap(kProbeEvery, control.stop_publishing)) {
    const int replica = static_cast<int>(rng_.between(0, ctx_.ports.size() - 1));
    const Marker marker = make_marker(kProbeSource, ++counter_);
    PublishOp op;
    op.source = "probe -> replica " + std::to_string(replica) +
                " at t=" + std::to_string(ctx_.clock.now_ms()) + "ms";
    op.events.push_back({kProbeTopic, marker});
    const std::string body = R"({"topic":")" + kProbeTopic + R"(","type":"e","data":{"m":)" +
                             std::to_string(marker) + R"(,"t":")" + kProbeTopic + R"("}})";
    const std::int64_t sent = ctx_.clock.now_ms();
    const PostResult r =
        post_json(ctx_.ports[static_cast<std::size_t>(replica)], "/publish", body, kProbeTimeout);
    const std::int64_t acked = ctx_.clock.now_ms();
    op.status = r.status;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status == 201 && r.error.empty() && j.is_object() && j["ids"].is_array() &&
        j["ids"].size() == 1 && j["ids"][0].is_string()) {
      op.outcome = PublishOp::Outcome::ok;
      op.ids.push_back(j["ids"][0].get<std::string>());
      if (auto id = parse_id(op.ids.back())) probes.push_back({id->seq, sent, acked});
    } else if (r.status >= 400 && r.status < 500 && r.error.empty()) {
      op.outcome = PublishOp::Outcome::failed;
    } else {
      op.outcome = PublishOp::Outcome::unknown;
      op.detail = r.error;
    }
    ops.push_back(std::move(op));
  }
}

ProbeWatcher::ProbeWatcher(int replica, const RunContext& ctx) : replica_(replica), ctx_(ctx) {}

void ProbeWatcher::run_stream(const Control& control) {
  const auto port = ctx_.ports[static_cast<std::size_t>(replica_)];
  while (!control.stop) {
    ProbeStream record;
    record.replica = replica_;
    {
      test::SseStream stream(port, "/events?topic=" + kProbeTopic);
      if (stream.read_head(Ms(2000)) == 200) {
        auto last_byte = std::chrono::steady_clock::now();
        while (!control.stop) {
          auto e = stream.next(Ms(250));
          if (!e) {
            if (stream.closed() || std::chrono::steady_clock::now() - last_byte > kSilence) break;
            continue;
          }
          last_byte = std::chrono::steady_clock::now();
          if (e->type == "ready" && !e->id) {
            record.ready_ms = ctx_.clock.now_ms();
          } else if (e->type == "replay-failed" && !e->id) {
            record.notices.push_back({std::nullopt, ctx_.clock.now_ms()});
          } else if (e->type == "replay-truncated" && e->id) {
            if (auto id = parse_id(*e->id))
              record.notices.push_back({id->seq, ctx_.clock.now_ms()});
          } else if (e->id) {
            if (auto id = parse_id(*e->id))
              record.received.push_back({id->seq, ctx_.clock.now_ms()});
          }
        }
      }
    }
    record.end_ms = ctx_.clock.now_ms();
    if (record.ready_ms) streams.push_back(std::move(record));
    nap(Ms(200), control.stop);
  }
}

void ProbeWatcher::run_readiness(const Control& control) {
  const auto port = ctx_.ports[static_cast<std::size_t>(replica_)];
  while (nap(kReadyEvery, control.stop)) {
    const auto r = test::http(port, "GET", "/health/ready", "", {}, kReadyTimeout);
    samples.push_back({replica_, ctx_.clock.now_ms(), r.status});
  }
}

}  // namespace ssehub::chaos
