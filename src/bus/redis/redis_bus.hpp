#pragma once
// The Redis bus (bus.kind = redis): live events between replicas over Redis
// pub/sub, with the Postgres store as the source of truth.
//
// Publishing (RedisPublisher) runs inside the store's ordered section: each
// batch's events, then a heads notice saying the batch is complete.
//
// Subscribing: one dedicated thread owns the subscriber connection and drives a
// SubscriberMachine, which decides everything and does no I/O: it subscribes to
// the heads channel, its sentinel channel, and the topics this replica serves
// (added with its first local subscriber, removed after its last); holds each
// batch's events until its notice says the batch is complete; recovers from the
// store (StoreReader), bounded by replay.limit, whatever Redis did not bring, on
// every (re)subscribe, on a notice whose base is above its mark, and when the
// store's head stays ahead of it; and tells a stream `ready` only once Redis
// confirmed the last SUBSCRIBE of every topic it wants. The sentinel probes the
// subscription end to end; a miss is logged at critical, fails readiness and
// forces a reconnect. This thread opens connections, reads and writes, queries
// the store and sleeps, as the machine's actions say. Events reach the hub only
// through the sink (which posts).
//
// Threads: publish() from the store's publisher thread; topic_added/removed and
// subscribed() from reactor threads; the machine under mutex_; its actions run on
// the subscriber thread outside it.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "bus/event_bus.hpp"
#include "bus/redis/redis_connection.hpp"
#include "bus/redis/redis_health.hpp"
#include "bus/redis/redis_publisher.hpp"
#include "bus/redis/store_reader.hpp"
#include "bus/redis/subscriber_machine.hpp"

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
  static constexpr std::size_t kMaxBufferedEvents = 20000;

 private:
  void run();
  sub::Actions feed(sub::Input input);
  // Does the actions in order; those that read (the store, the socket) feed what
  // they read back at once, and do what that answers before going on.
  void execute(sub::Actions actions);
  void execute_one(sub::Action& action);
  void connect();
  void serve_round();
  // Feeds every complete reply the connection has read.
  void feed_replies();
  // Reads what the socket holds now, without waiting, in at most `rounds` reads.
  void read_backlog(int rounds);
  void publish_probe(std::uint64_t token);
  void wake();
  bool sleep_for(std::chrono::milliseconds d);

  const Options options_;
  const redis::Endpoint endpoint_;
  const std::string sentinel_channel_;
  BatchSink sink_;
  GapSink gap_sink_;
  RedisPublisher publisher_;
  StoreReader store_;

  // Subscriber thread.
  std::unique_ptr<RedisConnection> sub_;
  std::unique_ptr<RedisConnection> probe_;  // publishes sentinel probes

  mutable std::mutex mutex_;
  SubscriberMachine machine_;  // guarded by mutex_
  std::atomic<bool> stopping_{false};
  int wake_pipe_[2] = {-1, -1};
  std::condition_variable wake_cv_;
  std::thread thread_;
};

}  // namespace ssehub
