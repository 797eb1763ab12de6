// StreamSession, its replay half: the replay after a Last-Event-ID, the hand-off
// from it to live delivery, and gaps (replay-truncated) signalled by the bus.
// The session's other half (subscribing, live delivery, writing, closing) is in
// stream_session.cpp.

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "core/sse_frame.hpp"
#include "stream/stream_session.hpp"
#include "stream/worker.hpp"

namespace ssehub {

void StreamSession::start_replay() {
  handoff_.begin_replay();
  ReplayQuery q{request_.topics, request_.last_event_id, deps_.replay_limit};
  auto self = shared_from_this();
  auto started = std::chrono::steady_clock::now();
  // NOTE: runs on a store thread; the reference moves into the posted handler
  // (see start()).
  deps_.store.replay(std::move(q), [self, started](ReplayResult r) mutable {
    auto& io = self->worker_.io();
    net::post(io, [self = std::move(self), started, r = std::move(r)]() mutable {
      self->on_replay(std::move(r), started);
    });
  });
}

void StreamSession::on_replay(ReplayResult result, std::chrono::steady_clock::time_point started) {
  if (state_ != StreamState::replaying) return;  // it ended meanwhile
  deps_.metrics.replay_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  const std::size_t limit = deps_.replay_limit;
  ReplayDecision d = result.ok
                         ? decide_replay(request_.last_event_id, std::move(result.snapshot), limit)
                         : replay_failed(request_.last_event_id, result.failure, result.epoch,
                                         std::max(result.known_head, handoff_.highest_offered()));
  std::vector<std::shared_ptr<const std::string>> frames;
  if (d.kind == ReplayDecision::Kind::deliver) {
    std::size_t bytes = 0;
    for (const Event& ev : d.events) {
      frames.push_back(
          std::make_shared<const std::string>(encode_event(ev.id, ev.type, ev.data, ev.topic)));
      bytes += frames.back()->size();
    }
    // A replay must fit in the stream's queue; one that does not is signalled
    // like one past the limit, so the client re-hydrates instead of looping.
    if (bytes > deps_.stream.queue_limit_bytes / 2) {
      frames.clear();
      d = truncate_for_size(std::move(d));
    }
  }
  deps_.metrics.count_replay(d);
  // Everything below leaves in one gathered write (flush() at the end).
  flush_scheduled_ = true;
  switch (d.kind) {
    case ReplayDecision::Kind::deliver:
      for (auto& f : frames) enqueue(std::move(f));
      events_sent_ += d.events.size();
      bump_owned(worker_.counters().deliveries, d.events.size());
      break;
    case ReplayDecision::Kind::truncated:
      spdlog::info("replay truncated conn={} reason={} requested={} resume={}", id_,
                   to_string(d.truncation), request_.last_event_id.raw, d.resume.str());
      enqueue(std::make_shared<const std::string>(
          encode_replay_truncated(d, limit, request_.last_event_id.raw)));
      break;
    case ReplayDecision::Kind::failed:
      spdlog::warn("replay failed conn={} reason={} cause={}", id_, to_string(d.failure),
                   result.error);
      enqueue(std::make_shared<const std::string>(encode_replay_failed(d.failure)));
      break;
  }
  if (state_ != StreamState::replaying) return;  // closed by a write above
  enter(StreamState::live);                      // the held events follow the replay
  std::uint64_t covered = d.covered_through;
  // Live events held from before the bus confirmed every topic may miss some of
  // them: after a failed replay, delivery resumes past those.
  if (d.kind == ReplayDecision::Kind::failed) {
    covered = std::max(covered, handoff_.incomplete_through());
  }
  if (pending_gap_ > covered) {
    // A gap past what the replay covered: the client re-hydrates from there.
    enqueue(std::make_shared<const std::string>(encode_gap(pending_gap_epoch_, pending_gap_)));
    covered = pending_gap_;
  }
  for (auto& f : handoff_.finish_replay(covered)) {
    enqueue(std::move(f.frame));
    ++events_sent_;
    bump_owned(worker_.counters().deliveries);
  }
  flush();
}

std::string StreamSession::encode_gap(const std::string& epoch, std::uint64_t resume_seq) const {
  ReplayDecision d;
  d.kind = ReplayDecision::Kind::truncated;
  d.truncation = TruncationReason::limit;
  d.resume = EventId{epoch, resume_seq};
  std::string after = handoff_.last_seq() ? format_event_id(epoch, handoff_.last_seq()) : "";
  return encode_replay_truncated(d, deps_.replay_limit, after);
}

void StreamSession::signal_gap(const std::string& epoch, std::uint64_t resume_seq) {
  if (ending_or_closed(state_)) return;
  if (state_ == StreamState::subscribing || state_ == StreamState::replaying) {
    if (resume_seq > pending_gap_) {
      pending_gap_ = resume_seq;
      pending_gap_epoch_ = epoch;
    }
    return;
  }
  if (resume_seq <= handoff_.last_seq()) return;
  send_gap(epoch, resume_seq);
}

void StreamSession::send_gap(const std::string& epoch, std::uint64_t resume_seq) {
  spdlog::info("stream gap conn={} resume={}", id_, format_event_id(epoch, resume_seq));
  ReplayDecision counted;
  counted.kind = ReplayDecision::Kind::truncated;
  deps_.metrics.count_replay(counted);
  enqueue(std::make_shared<const std::string>(encode_gap(epoch, resume_seq)));
  handoff_.advance_to(resume_seq);
}

}  // namespace ssehub
