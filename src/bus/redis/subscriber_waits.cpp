// SubscriberMachine, the streams' side: the streams waiting for their topics
// (when they may begin, and the mark they begin past), the subscriber's state
// changes and its health. The connection's side is in subscriber_machine.cpp.

#include <algorithm>
#include <nlohmann/json.hpp>

#include "bus/redis/subscriber_machine.hpp"

namespace ssehub {

using namespace sub;

// ---- waiting streams -----------------------------------------------------------

bool SubscriberMachine::subscribed(const std::vector<std::string>& topics,
                                   std::function<void()> later) {
  // Not connected: the next connection subscribes to these topics and recovers
  // what the streams miss meanwhile.
  auto st = lifecycle_.state();
  if (st == SubscriberState::reconnecting || st == SubscriberState::closed) return true;
  Waiter w;
  for (const auto& t : topics) {
    if (!tracker_.active(t)) w.missing.push_back(t);
  }
  if (w.missing.empty() && !release_pending_) return true;
  w.done = std::move(later);
  waiters_.push_back(std::move(w));
  return false;
}

// A topic no stream wants any more will not be confirmed: the stream that waited
// for it has left, and its callback (which holds the session) is let go.
void SubscriberMachine::release_abandoned(Actions& out) {
  Release release;
  std::erase_if(waiters_, [&](Waiter& w) {
    if (std::ranges::all_of(w.missing, [&](const auto& t) { return tracker_.wanted(t); })) {
      return false;
    }
    release.streams.push_back(std::move(w.done));
    return true;
  });
  if (!release.streams.empty()) out.push_back(std::move(release));
}

void SubscriberMachine::release_confirmed(Actions& out) {
  if (!release_pending_ || sequencer_.complete_through() < release_after_) return;
  flush(out);
  release_after_ = 0;
  release_waiters(false, out);
}

void SubscriberMachine::release_waiters(bool give_up, Actions& out) {
  // A stream that skips the wait from now on may still be offered what was
  // dispatched up to here (it waits in its reactor's inbox), without the events
  // of topics confirmed meanwhile: it begins past this mark.
  released_through_ = std::max(released_through_, sequencer_.complete_through());
  release_pending_ = false;
  Release release;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    std::erase_if(it->missing, [this](const std::string& t) { return tracker_.active(t); });
    if (it->missing.empty() || give_up) {
      release.streams.push_back(std::move(it->done));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  if (!release.streams.empty()) out.push_back(std::move(release));
}

// ---- state and health ------------------------------------------------------------

void SubscriberMachine::set_state(SubscriberLifecycle::Step step, const std::string& cause, Now now,
                                  Actions& out) {
  if (!step.changed()) return;
  since_ms_ = now.unix_ms;
  if (!cause.empty()) last_error_ = cause;
  nlohmann::json line = {{"component", "redis-subscriber"},
                         {"from", to_string(step.from)},
                         {"to", to_string(step.to)},
                         {"cause", cause}};
  if (step.wait.count() > 0) line["retryInMs"] = step.wait.count();
  // The cause may quote a server's message: never let its bytes throw.
  out.push_back(Log{step.to == SubscriberState::reconnecting ? Log::warn : Log::info,
                    "redis subscriber state " +
                        line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
}

bool SubscriberMachine::ready() const {
  return lifecycle_.state() == SubscriberState::ready &&
         (!sentinel_.enabled() || sentinel_.healthy());
}

SubscriberHealth SubscriberMachine::health() const {
  SubscriberHealth h;
  h.state = lifecycle_.state();
  h.since_ms = since_ms_;
  h.sentinel_enabled = sentinel_.enabled();
  h.sentinel_healthy = sentinel_.healthy();
  h.sentinel_round_trip = sentinel_.last_round_trip();
  h.sentinel_at_ms = sentinel_at_ms_;
  h.sentinel_misses = sentinel_.misses();
  h.topics = tracker_.active_count();
  h.last_error = last_error_;
  h.messages = messages_;
  h.malformed = malformed_;
  h.recovered = recovered_;
  h.gaps = gaps_;
  h.reconnects = reconnects_;
  return h;
}

}  // namespace ssehub
