#pragma once
// The Redis bus (bus.kind = redis): live events between replicas over Redis
// pub/sub, with the Postgres store as the source of truth.
//
// Publishing runs inside the store's ordered section: for each batch one message
// per event on its topic channel and then a notice on `<prefix>:heads`
// ({"base","head"}), pipelined, so Redis sees batches in id order and a notice
// only after all of its batch. A publish that fails (Redis down, or the
// connection lost mid-batch) is skipped: the events are durable, and
// subscribers recover them.
//
// Subscribing: one dedicated thread owns the subscriber connection (states
// connecting, ready, reconnecting, closed; capped backoff with jitter) and
// subscribes to the heads channel, its sentinel channel, and the topics this
// replica serves (added with its first local subscriber, removed after its last).
// Its LiveSequencer holds each batch's events until the batch's notice says the
// batch is complete, and keeps the mark `complete_through`. It recovers from the
// store, bounded by replay.limit, whatever Redis did not bring: on every
// (re)subscribe from that mark, on a heads notice whose base is above it (a batch
// some replica published only in part, or not at all), and when the store's
// head stays ahead of it (checked every second). Past the bound the streams get
// `replay-truncated` instead. Its SubscriptionTracker decides which topics are
// active: a stream is told `ready` only once Redis confirmed the last SUBSCRIBE
// of every topic it wants. The sentinel probes the subscription
// end to end; a miss is logged at critical, fails readiness and forces a
// reconnect. Events reach the hub only through the sink (which posts).
//
// Threads: publish() from the store's publisher thread; topic_added/removed and
// subscribed() from reactor threads; everything else on the subscriber thread.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "bus/event_bus.hpp"
#include "bus/redis/live_sequencer.hpp"
#include "bus/redis/redis_connection.hpp"
#include "bus/redis/subscriber_lifecycle.hpp"
#include "bus/redis/subscription_tracker.hpp"
#include "observability/metrics.hpp"
#include "platform/deadline_scheduler.hpp"
#include "store/postgres/pg_link.hpp"

namespace ssehub {

class RedisBus final : public EventBus {
 public:
  struct Options {
    std::string url;
    std::string prefix = "ssehub";
    std::string replica;
    std::chrono::milliseconds sentinel_interval{30000};
    std::chrono::milliseconds sentinel_timeout{5000};
    std::size_t recovery_limit = 1000;
    std::string postgres_url;
  };

  explicit RedisBus(Options options);  // throws ConfigError for a bad URL
  ~RedisBus() override;

  std::string_view kind() const override { return "redis"; }
  void start(BatchSink sink) override;
  void set_gap_sink(GapSink sink) override { gap_sink_ = std::move(sink); }
  void publish(EventBatchPtr batch) override;
  void topic_added(const std::string& topic) override;
  void topic_removed(const std::string& topic) override;
  bool subscribed(const std::vector<std::string>& topics, std::function<void()> later) override;
  std::uint64_t incomplete_through() const override;
  bool ready() const override;
  std::string health_json() const override;
  void render_metrics(std::string& out) const override;
  void stop() override;

  static constexpr std::chrono::milliseconds kIoTimeout{1000};
  static constexpr std::chrono::milliseconds kStoreCheckInterval{1000};
  static constexpr std::chrono::milliseconds kPublishBackoff{1000};
  // Events held while their batch's notice has not come; past it, recover.
  static constexpr std::size_t kMaxBufferedEvents = 20000;

 private:
  struct Waiter {
    std::set<std::string> missing;
    std::function<void()> done;
  };
  struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

  void run();
  void set_state(SubscriberLifecycle::Step step, const std::string& cause);
  void connect_and_subscribe();
  void serve();
  void apply_topic_changes();
  void check_unanswered();
  void handle(const redisReply& reply);
  void on_message(const std::string& channel, const std::string& payload);
  // Hands on what the sequencer released, and recovers when it asks to.
  void follow(LiveSequencer::Step step, const char* why);
  // Reads and handles whatever the subscriber socket already holds, without
  // waiting, in at most `max_rounds` reads.
  void drain(int max_rounds = 16);
  void flush_events();
  // Reads what the store has after the sequencer's mark on every topic the
  // connection may hear (SubscriptionTracker::known_topics) and hands it on; past
  // recovery_limit signals a gap instead.
  void recover(const char* why);
  std::uint64_t store_head();
  void sentinel_tick();
  void check_store_head();
  // Calls the waiters whose topics are confirmed, or all of them when giving up.
  void release_waiters(bool give_up);
  // Releases the streams a SUBSCRIBE confirmation completed, once everything
  // heard before that confirmation has reached the hub (see handle()).
  void release_confirmed();
  void wake();
  bool sleep_for(std::chrono::milliseconds d);

  const Options options_;
  redis::Endpoint endpoint_;
  const std::string heads_channel_;
  const std::string sentinel_channel_;
  BatchSink sink_;
  GapSink gap_sink_;

  // Subscriber thread.
  std::unique_ptr<RedisConnection> sub_;
  std::unique_ptr<RedisConnection> probe_;  // publishes sentinel probes
  SubscriberLifecycle lifecycle_;
  SentinelMonitor sentinel_;
  PgStatus pg_status_;
  PgLink pg_;
  CallWatch pg_watch_;
  DeadlineScheduler scheduler_;
  std::string epoch_;
  LiveSequencer sequencer_{0, kMaxBufferedEvents};
  // A SUBSCRIBE was confirmed: waiting streams, and any that asks meanwhile, begin
  // once the sequencer is complete through release_after_ (what it held when the
  // confirmation came). release_pending_ is guarded by mutex_.
  bool release_pending_ = false;
  std::uint64_t release_after_ = 0;
  // What the sequencer was complete through at the last release: every batch
  // heard before the confirmations so far was dispatched by then, and anything
  // after it is complete on every active topic. Guarded by mutex_.
  std::uint64_t released_through_ = 0;
  std::chrono::steady_clock::time_point next_store_check_{};
  // When each SUBSCRIBE/UNSUBSCRIBE sent while serving was sent, oldest first;
  // Redis answers them in order, and one unanswered past its deadline reconnects.
  std::deque<std::chrono::steady_clock::time_point> unanswered_;
  std::vector<Event> pending_events_;

  // Shared with reactor threads.
  mutable std::mutex mutex_;
  SubscriptionTracker tracker_;  // topics this replica serves, and their subscriptions
  std::vector<Waiter> waiters_;
  std::atomic<SubscriberState> state_{SubscriberState::closed};
  std::atomic<long long> state_since_ms_{0};
  std::string last_error_;
  std::atomic<long long> sentinel_rtt_us_{-1};
  std::atomic<long long> sentinel_at_ms_{0};
  std::atomic<bool> sentinel_healthy_{true};
  std::atomic<bool> stopping_{false};
  int wake_pipe_[2] = {-1, -1};
  std::condition_variable wake_cv_;
  std::thread thread_;

  // Publisher path (the store's ordered section).
  std::mutex publish_mutex_;
  std::unique_ptr<RedisConnection> pub_;
  std::chrono::steady_clock::time_point publish_retry_at_{};

  Counter messages_{0}, malformed_{0}, recovered_{0}, gaps_{0}, reconnects_{0};
  Counter sentinel_misses_{0}, published_{0}, publish_failures_{0};
};

}  // namespace ssehub
