#include "bus/redis/subscriber_machine.hpp"

#include <algorithm>
#include <charconv>

#include "bus/redis/redis_protocol.hpp"

namespace ssehub {

using namespace sub;

SubscriberMachine::SubscriberMachine(SubscriberOptions options)
    : options_(std::move(options)),
      heads_channel_(redis::heads_channel(options_.prefix)),
      sentinel_channel_(redis::sentinel_channel(options_.prefix, options_.replica)),
      lifecycle_(options_.backoff),
      sentinel_(options_.sentinel_interval, options_.sentinel_timeout) {}

Actions SubscriberMachine::resume(Input input, Now now) {
  Actions out;
  std::visit(
      [&](auto& in) {
        using T = std::decay_t<decltype(in)>;
        if constexpr (std::is_same_v<T, Start>) {
          if (phase_ != Phase::idle) return;
          sequencer_ = LiveSequencer(in.complete_through, options_.max_buffered);
          // Connecting from now on: a stream that arrives before the first
          // connection waits for its topics like any other.
          set_state(lifecycle_.start(), "start", now, out);
          phase_ = Phase::connect;
        } else if constexpr (std::is_same_v<T, Opened>) {
          if (phase_ == Phase::connect) on_opened(now, out);
        } else if constexpr (std::is_same_v<T, Reply>) {
          on_reply(std::move(in), now, out);
        } else if constexpr (std::is_same_v<T, ReadDone>) {
          if (phase_ != Phase::serving) return;
          flush(out);
          release_confirmed(out);
        } else if constexpr (std::is_same_v<T, Tick>) {
          on_tick(now, out);
        } else if constexpr (std::is_same_v<T, BacklogRead>) {
          on_backlog_read(now, out);
        } else if constexpr (std::is_same_v<T, Recovered>) {
          on_recovered(std::move(in), now, out);
        } else if constexpr (std::is_same_v<T, StoreHead>) {
          on_store_head(in.head, now, out);
        } else if constexpr (std::is_same_v<T, Failed>) {
          fail(in.cause, now, out);
        } else if constexpr (std::is_same_v<T, BackoffElapsed>) {
          if (phase_ != Phase::backoff) return;
          set_state(lifecycle_.retry(), "backoff elapsed", now, out);
          phase_ = Phase::connect;
        } else if constexpr (std::is_same_v<T, Stop>) {
          stop(now, out);
        }
      },
      input);
  return out;
}

// ---- connecting --------------------------------------------------------------

void SubscriberMachine::on_opened(Now now, Actions& out) {
  unanswered_.clear();
  held_.clear();
  std::vector<std::string> cmd = {"SUBSCRIBE", heads_channel_, sentinel_channel_};
  for (const auto& t : tracker_.reconnect())
    cmd.push_back(redis::topic_channel(options_.prefix, t));
  confirmations_left_ = cmd.size() - 1;
  subscribe_deadline_ = now.steady + options_.io_timeout * 2;
  phase_ = Phase::subscribing;
  out.push_back(Send{{std::move(cmd)}});
}

void SubscriberMachine::on_reply(Reply reply, Now now, Actions& out) {
  if (phase_ == Phase::subscribing) {
    // Messages that arrive meanwhile are held and handled after the recovery,
    // so delivery stays in id order.
    if (recovering_ || reply.kind != "subscribe" || confirmations_left_ == 0) {
      held_.push_back(std::move(reply));
      return;
    }
    if (auto t = redis::channel_topic(options_.prefix, reply.channel)) tracker_.confirmed(*t);
    if (--confirmations_left_ > 0) return;
    // What arrived only in part on the old connection is read again from the mark.
    recover("subscribed", out);
    return;
  }
  if (phase_ != Phase::serving) return;
  if (reply.kind == "message") {
    on_message(reply, now, out);
  } else {
    on_confirmation(reply, out);
  }
}

void SubscriberMachine::finish_subscribing(Now now, Actions& out) {
  while (!held_.empty()) {
    Reply r = std::move(held_.front());
    held_.pop_front();
    if (r.kind == "message") {
      on_message(r, now, out);
    } else {
      on_confirmation(r, out);
    }
    if (recovering_) return;  // the rest waits for what the store says
  }
  flush(out);
  release_waiters(false, out);
  set_state(lifecycle_.connected(), "subscribed", now, out);
  sentinel_.restart(now.steady);
  next_store_check_ = now.steady + options_.store_check_interval;
  phase_ = Phase::serving;
}

// ---- serving -----------------------------------------------------------------

void SubscriberMachine::on_confirmation(const Reply& reply, Actions& out) {
  auto topic = redis::channel_topic(options_.prefix, reply.channel);
  if (!topic || (reply.kind != "subscribe" && reply.kind != "unsubscribe")) return;
  if (!unanswered_.empty()) unanswered_.pop_front();
  tracker_.confirmed(*topic);
  if (reply.kind != "subscribe") return;
  // Everything heard before the confirmation, also what the sequencer still holds
  // for its batch's notice, reaches the hub before the streams it completes
  // begin: their hand-off marks where live delivery became complete on every
  // topic, and that mark must follow those events. A stream asking from now on
  // waits for this release too, even if its topics are all active already.
  release_pending_ = true;
  release_after_ = std::max(release_after_, sequencer_.highest_buffered());
  release_confirmed(out);
}

void SubscriberMachine::on_message(const Reply& reply, Now now, Actions& out) {
  ++messages_;
  if (reply.channel == heads_channel_) {
    auto notice = redis::decode_heads(reply.payload);
    if (!notice) {
      ++malformed_;
      out.push_back(Log{Log::warn, "redis bus: malformed heads notice dropped (" +
                                       std::to_string(reply.payload.size()) + " bytes)"});
      return;
    }
    follow(sequencer_.on_notice(notice->base, notice->head), "missed batches", out);
    return;
  }
  if (reply.channel == sentinel_channel_) {
    std::uint64_t token = 0;
    const char* end = reply.payload.data() + reply.payload.size();
    auto [p, ec] = std::from_chars(reply.payload.data(), end, token);
    if (ec != std::errc() || p != end) {
      ++malformed_;
      return;
    }
    const bool was_healthy = sentinel_.healthy();
    if (sentinel_.received(token, now.steady)) {
      sentinel_at_ms_ = now.unix_ms;
      if (!was_healthy) out.push_back(Log{Log::info, "redis sentinel is back"});
    }
    return;
  }
  std::string error;
  auto ev = redis::decode_event(reply.payload, error);
  if (!ev) {
    ++malformed_;
    out.push_back(
        Log{Log::warn, "redis bus: malformed message on " + reply.channel + " dropped: " + error});
    return;
  }
  follow(sequencer_.on_event(std::move(*ev)), "too many events without their batch's notice", out);
}

void SubscriberMachine::follow(LiveSequencer::Step step, const char* why, Actions& out) {
  for (auto& ev : step.deliver) pending_.push_back(std::move(ev));
  if (!step.recover) return;
  flush(out);
  ++gaps_;
  recover(why, out);
}

void SubscriberMachine::flush(Actions& out) {
  if (pending_.empty()) return;
  out.push_back(Deliver{std::make_shared<EventBatch>(std::move(pending_))});
  pending_.clear();
}

bool SubscriberMachine::overdue(Now now) const {
  return !unanswered_.empty() && now.steady - unanswered_.front() > options_.io_timeout * 2;
}

void SubscriberMachine::on_tick(Now now, Actions& out) {
  if (phase_ == Phase::subscribing) {
    if (now.steady >= subscribe_deadline_ && !recovering_) {
      fail("no SUBSCRIBE confirmation in time", now, out);
    }
    return;
  }
  if (phase_ != Phase::serving) return;
  std::vector<std::vector<std::string>> commands;
  for (auto& c : tracker_.changes()) {
    commands.push_back({c.subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE",
                        redis::topic_channel(options_.prefix, c.topic)});
    unanswered_.push_back(now.steady);
  }
  if (!commands.empty()) out.push_back(Send{std::move(commands)});
  release_abandoned(out);
  // A probe that arrived while the thread waited on the store is not a miss.
  backlog_read_deep_ = false;
  out.push_back(ReadBacklog{16});
}

void SubscriberMachine::on_backlog_read(Now now, Actions& out) {
  if (phase_ != Phase::serving) return;
  flush(out);
  // A SUBSCRIBE that Redis never answers would keep the streams waiting for it
  // (and with the sentinel off, for good): past the deadline the connection is
  // given up, the streams go on, and the next connection subscribes and
  // recovers. The answer may wait behind a backlog not read yet: read all there
  // is before judging.
  if (overdue(now)) {
    if (!backlog_read_deep_) {
      backlog_read_deep_ = true;
      out.push_back(ReadBacklog{4096});
      return;
    }
    return fail("no SUBSCRIBE/UNSUBSCRIBE confirmation in time", now, out);
  }
  auto tick = sentinel_.tick(now.steady);
  if (tick.missed) {
    out.push_back(Log{Log::critical, "redis sentinel missed: probe on " + sentinel_channel_ +
                                         " not received within " +
                                         std::to_string(options_.sentinel_timeout.count()) +
                                         " ms; subscriber unhealthy, resubscribing"});
    return fail("sentinel probe not received within bus.sentinel_timeout_ms", now, out);
  }
  if (tick.publish) out.push_back(PublishProbe{*tick.publish});
  if (now.steady >= next_store_check_) out.push_back(ReadStoreHead{});
}

// A commit that never reached Redis (its publisher lost Redis, or it was written
// in SQL) leaves the store ahead of what this replica heard. Allowing one check
// interval for the message to arrive, recover it.
void SubscriberMachine::on_store_head(std::optional<std::uint64_t> head, Now now, Actions& out) {
  if (phase_ != Phase::serving) return;
  next_store_check_ = now.steady + options_.store_check_interval;
  if (head) {
    // Nothing real is above the store's head: a message that claimed so would
    // hold streams (a buffered event) or mute them (a mark) for good.
    auto beyond = sequencer_.drop_beyond(*head);
    if (beyond.store_went_back) {
      out.push_back(
          Log{Log::critical, "redis bus: the store's head " + std::to_string(*head) +
                                 " is below events already delivered: the store lost committed "
                                 "events (a failover to a standby that lagged?)"});
    }
    if (beyond.dropped > 0) {
      malformed_ += beyond.dropped;
      release_after_ = std::min(release_after_, *head);
      out.push_back(Log{Log::warn, "redis bus: " + std::to_string(beyond.dropped) +
                                       " events above the store's head " + std::to_string(*head) +
                                       " dropped as malformed"});
    }
    if (beyond.mark_reset) {
      ++malformed_;
      out.push_back(Log{Log::warn, "redis bus: a heads notice above the store's head " +
                                       std::to_string(*head) + " was dropped; recovering"});
      flush(out);
      recover("a notice above the store's head", out);
      return;
    }
    release_confirmed(out);
  }
  if (!sequencer_.store_ahead(head.value_or(0))) return;
  flush(out);
  recover("store ahead of redis", out);
}

sub::Clock::time_point SubscriberMachine::wake_at() const {
  if (phase_ == Phase::subscribing) return subscribe_deadline_;
  if (phase_ != Phase::serving) return Clock::time_point::max();
  return std::min(sentinel_.next_due(), next_store_check_);
}

// ---- recovery from the store ---------------------------------------------------

void SubscriberMachine::recover(const std::string& why, Actions& out) {
  recovering_ = true;
  recover_after_ = sequencer_.complete_through();
  recover_why_ = why;
  // Not only the active topics: one whose last stream just left is still
  // subscribed (and one joined meanwhile is active again with no command), and
  // recovered() drops its events up to the head too.
  out.push_back(Recover{recover_after_, tracker_.known_topics(), why});
}

void SubscriberMachine::on_recovered(Recovered r, Now now, Actions& out) {
  if (!recovering_ || (phase_ != Phase::subscribing && phase_ != Phase::serving)) return;
  recovering_ = false;
  const std::uint64_t after = recover_after_;
  const std::uint64_t head = r.window.head_seq;
  if (head > after && (r.found > options_.recovery_limit || after < r.window.pruned_through)) {
    ++gaps_;
    out.push_back(Log{Log::warn, "redis bus: " + recover_why_ + " after seq " +
                                     std::to_string(after) + ": more than " +
                                     std::to_string(options_.recovery_limit) +
                                     " events to recover; streams get replay-truncated at " +
                                     std::to_string(head)});
    out.push_back(SignalGap{head});
  } else if (!r.events.empty()) {
    recovered_ += r.events.size();
    out.push_back(Log{Log::info, "redis bus: recovered " + std::to_string(r.events.size()) +
                                     " events after seq " + std::to_string(after) +
                                     " from the store (" + recover_why_ + ")"});
    out.push_back(Deliver{std::make_shared<EventBatch>(std::move(r.events))});
  }
  sequencer_.recovered(head);
  if (phase_ == Phase::subscribing) finish_subscribing(now, out);
}

// ---- failure, stop -------------------------------------------------------------

void SubscriberMachine::fail(const std::string& cause, Now now, Actions& out) {
  if (phase_ == Phase::idle || phase_ == Phase::backoff || phase_ == Phase::stopped) return;
  out.push_back(Disconnect{});
  held_.clear();
  recovering_ = false;
  unanswered_.clear();
  flush(out);
  tracker_.disconnected();
  // Before the state says reconnecting (streams then skip the wait): what was
  // dispatched so far may lack the topics not confirmed yet.
  released_through_ = std::max(released_through_, sequencer_.complete_through());
  release_after_ = 0;
  auto step = lifecycle_.failed(options_.jitter ? options_.jitter() : 0.5);
  ++reconnects_;
  set_state(step, cause, now, out);
  // Streams waiting for a subscription go on; what they miss meanwhile is
  // recovered from the store on reconnect.
  release_waiters(true, out);
  backoff_ = step.wait;
  phase_ = Phase::backoff;
}

void SubscriberMachine::stop(Now now, Actions& out) {
  if (phase_ == Phase::stopped) return;
  if (phase_ == Phase::subscribing || phase_ == Phase::serving) {
    out.push_back(Disconnect{});
    flush(out);
    tracker_.disconnected();
    released_through_ = std::max(released_through_, sequencer_.complete_through());
  }
  held_.clear();
  recovering_ = false;
  release_after_ = 0;
  set_state(lifecycle_.stop(), "stopping", now, out);
  release_waiters(true, out);
  phase_ = Phase::stopped;
}

}  // namespace ssehub
