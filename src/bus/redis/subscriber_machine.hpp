#pragma once
// The Redis subscriber as an I/O-free machine: the subscriber thread feeds it
// what happened (`resume(input, now)`) and does the actions it answers, in order.
// It holds the lifecycle and the sentinel (subscriber_lifecycle.hpp), the
// subscription tracker and the live sequencer, and the streams waiting for their
// topics. Pure: no sockets, no clocks of its own, no threads.
//
// Phases, as the thread drives them:
//   connect     -> open a connection, feed Opened (or Failed);
//   subscribing -> the SUBSCRIBE is out; confirmations are counted, other replies
//                  held; once all came, the store is read from the sequencer's
//                  mark (Recover) and the held replies are handled after it;
//   serving     -> every round feed Tick, then what the socket holds (Reply...,
//                  ReadDone); Tick asks for a short read of the backlog first, so
//                  a probe that waited behind other work is not a miss;
//   backoff     -> wait backoff(), feed BackoffElapsed;
//   stopped     -> the thread ends.
// Any I/O failure is fed as Failed, and every phase turns it into backoff.
//
// Ordering rules kept here (see redis_bus.hpp for why): events reach the hub in
// seq order and before the streams they complete are released; a stream told
// `ready` has every topic confirmed, and `incomplete_through()` names what was
// dispatched before it may skip.
//
// Threads: none; RedisBus calls it under one mutex and runs the actions outside it.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bus/event_bus.hpp"
#include "bus/redis/live_sequencer.hpp"
#include "bus/redis/subscriber_lifecycle.hpp"
#include "bus/redis/subscription_tracker.hpp"
#include "core/replay_decision.hpp"

namespace ssehub {

struct SubscriberOptions {
  std::string prefix = "ssehub";
  std::string replica;
  std::chrono::milliseconds sentinel_interval{30000};
  std::chrono::milliseconds sentinel_timeout{5000};
  std::chrono::milliseconds io_timeout{1000};
  std::chrono::milliseconds store_check_interval{1000};
  std::size_t recovery_limit = 1000;
  // Events held while their batch's notice has not come; past it, recover.
  std::size_t max_buffered = 20000;
  BackoffPolicy backoff{};
  // Picks a backoff within its range, in [0, 1).
  std::function<double()> jitter;
};

// What a subscriber's health reports, read under the bus's mutex.
struct SubscriberHealth {
  SubscriberState state = SubscriberState::closed;
  long long since_ms = 0;
  bool sentinel_enabled = false;
  bool sentinel_healthy = true;
  std::optional<std::chrono::microseconds> sentinel_round_trip;
  long long sentinel_at_ms = 0;
  std::uint64_t sentinel_misses = 0;
  std::size_t topics = 0;
  std::string last_error;
  std::uint64_t messages = 0, malformed = 0, recovered = 0, gaps = 0, reconnects = 0;
};

namespace sub {

using Clock = std::chrono::steady_clock;

struct Now {
  Clock::time_point steady{};
  long long unix_ms = 0;
};

// ---- inputs ----
struct Start {
  std::uint64_t complete_through = 0;  // the store's head: what came before is replay's
};
struct Opened {};
// One pub/sub push: kind "message", "subscribe" or "unsubscribe", its channel, and
// for a message its payload.
struct Reply {
  std::string kind;
  std::string channel;
  std::string payload;
};
struct ReadDone {};     // everything the socket held was fed
struct Tick {};         // once per serving round, and when wake_at() has passed
struct BacklogRead {};  // a ReadBacklog action is done
struct Recovered {      // what a Recover read (window, events found, and those events)
  StoreWindow window;
  std::size_t found = 0;
  std::vector<Event> events;
};
struct StoreHead {
  std::optional<std::uint64_t> head;  // nullopt: the store could not be read
};
struct Failed {
  std::string cause;
};
struct BackoffElapsed {};
struct Stop {};
using Input = std::variant<Start, Opened, Reply, ReadDone, Tick, BacklogRead, Recovered, StoreHead,
                           Failed, BackoffElapsed, Stop>;

// ---- actions ----
struct Send {  // write these commands on the subscriber connection
  std::vector<std::vector<std::string>> commands;
};
struct Deliver {
  EventBatchPtr batch;
};
struct Recover {  // read the store after `after` on `topics`; feed Recovered (or Failed)
  std::uint64_t after = 0;
  std::vector<std::string> topics;
  std::string why;
};
struct ReadStoreHead {};  // feed StoreHead
struct ReadBacklog {      // read what the socket holds now, in at most `rounds` reads;
  int rounds = 0;         // feed each Reply, then BacklogRead
};
struct PublishProbe {
  std::uint64_t token = 0;
};
struct Release {  // streams whose wait is over
  std::vector<std::function<void()>> streams;
};
struct SignalGap {  // live delivery cannot be made whole up to `head`
  std::uint64_t head = 0;
};
struct Disconnect {};  // drop the connections
struct Log {
  enum Level { info, warn, critical } level = info;
  std::string text;
};
using Action = std::variant<Send, Deliver, Recover, ReadStoreHead, ReadBacklog, PublishProbe,
                            Release, SignalGap, Disconnect, Log>;
using Actions = std::vector<Action>;

}  // namespace sub

class SubscriberMachine {
 public:
  enum class Phase { idle, connect, subscribing, serving, backoff, stopped };

  explicit SubscriberMachine(SubscriberOptions options);

  sub::Actions resume(sub::Input input, sub::Now now);

  Phase phase() const { return phase_; }
  std::chrono::milliseconds backoff() const { return backoff_; }
  // When Tick next has something to do (the poll's timeout).
  sub::Clock::time_point wake_at() const;

  // From reactor threads (under the bus's mutex).
  void want(const std::string& topic) { tracker_.want(topic); }
  void unwant(const std::string& topic) { tracker_.unwant(topic); }
  // True when the streams of `topics` may begin now; otherwise `later` comes back
  // in a Release action.
  bool subscribed(const std::vector<std::string>& topics, std::function<void()> later);
  std::uint64_t incomplete_through() const { return released_through_; }
  bool ready() const;
  SubscriberHealth health() const;
  std::uint64_t complete_through() const { return sequencer_.complete_through(); }

 private:
  struct Waiter {
    std::vector<std::string> missing;
    std::function<void()> done;
  };

  void on_opened(sub::Now now, sub::Actions& out);
  void on_reply(sub::Reply reply, sub::Now now, sub::Actions& out);
  void on_message(const sub::Reply& reply, sub::Now now, sub::Actions& out);
  void on_confirmation(const sub::Reply& reply, sub::Actions& out);
  void on_tick(sub::Now now, sub::Actions& out);
  void on_backlog_read(sub::Now now, sub::Actions& out);
  void on_recovered(sub::Recovered r, sub::Now now, sub::Actions& out);
  void on_store_head(std::optional<std::uint64_t> head, sub::Now now, sub::Actions& out);
  void fail(const std::string& cause, sub::Now now, sub::Actions& out);
  void stop(sub::Now now, sub::Actions& out);
  // Hands on the held replies of a subscribe, until one asks for a recovery.
  void finish_subscribing(sub::Now now, sub::Actions& out);
  void follow(LiveSequencer::Step step, const char* why, sub::Actions& out);
  void recover(const std::string& why, sub::Actions& out);
  void flush(sub::Actions& out);
  void release_confirmed(sub::Actions& out);
  void release_waiters(bool give_up, sub::Actions& out);
  void release_abandoned(sub::Actions& out);
  void set_state(SubscriberLifecycle::Step step, const std::string& cause, sub::Now now,
                 sub::Actions& out);
  bool overdue(sub::Now now) const;

  const SubscriberOptions options_;
  const std::string heads_channel_;
  const std::string sentinel_channel_;
  Phase phase_ = Phase::idle;
  SubscriberLifecycle lifecycle_;
  SentinelMonitor sentinel_;
  SubscriptionTracker tracker_;
  LiveSequencer sequencer_{0, 0};
  std::chrono::milliseconds backoff_{0};

  // subscribing: confirmations still to come, by when, and the replies held.
  std::size_t confirmations_left_ = 0;
  sub::Clock::time_point subscribe_deadline_{};
  std::deque<sub::Reply> held_;
  bool recovering_ = false;          // a Recover is out
  std::uint64_t recover_after_ = 0;  // its mark
  std::string recover_why_;

  // serving
  bool backlog_read_deep_ = false;  // a long backlog read was asked for this tick
  sub::Clock::time_point next_store_check_{};
  // When each SUBSCRIBE/UNSUBSCRIBE sent while serving was sent, oldest first;
  // Redis answers them in order, and one unanswered past its deadline reconnects.
  std::deque<sub::Clock::time_point> unanswered_;
  std::vector<Event> pending_;

  std::vector<Waiter> waiters_;
  // A SUBSCRIBE was confirmed: waiting streams, and any that asks meanwhile, begin
  // once the sequencer is complete through release_after_ (what it held when the
  // confirmation came).
  bool release_pending_ = false;
  std::uint64_t release_after_ = 0;
  // What the sequencer was complete through at the last release: every batch
  // heard before the confirmations so far was dispatched by then, and anything
  // after it is complete on every active topic.
  std::uint64_t released_through_ = 0;

  long long since_ms_ = 0;
  long long sentinel_at_ms_ = 0;
  std::string last_error_;
  std::uint64_t messages_ = 0, malformed_ = 0, recovered_ = 0, gaps_ = 0, reconnects_ = 0;
};

}  // namespace ssehub
