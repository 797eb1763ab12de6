#pragma once
// One reactor thread: its io_context, its streams, its topic registry, and the
// timers that serve all of its streams (heartbeats, drain) so that no stream owns
// a thread or a timer.
//
// Threads: io() may be used from any thread; everything else runs on the worker's
// own thread (post to io() to get there).

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/stall_watch.hpp"
#include "http/http_deps.hpp"
#include "net/net.hpp"
#include "observability/metrics.hpp"
#include "server_context.hpp"
#include "stream/fanout_inbox.hpp"
#include "stream/fanout_pass.hpp"
#include "stream/hub.hpp"
#include "stream/stream_deps.hpp"

namespace ssehub {

class StreamSession;

// A topic's local subscribers. A stream remembers its index here for O(1) removal.
struct TopicEntry {
  struct Member {
    StreamSession* session;
    std::uint32_t slot;  // index into the session's topic slots
  };
  std::string topic;
  std::vector<Member> members;
};

class Worker {
 public:
  Worker(std::size_t index, ServerContext& ctx, Hub& hub);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  net::io_context& io() { return ioc_; }
  std::size_t index() const { return index_; }
  WorkerCounters& counters() { return counters_; }
  const StallWatch& stall_watch() const { return stall_watch_; }
  const HttpDeps& http_deps() const { return http_deps_; }
  const StreamDeps& stream_deps() const { return stream_deps_; }

  void run();   // the thread body; returns after stop()
  void stop();  // any thread

  // Reactor thread only.
  void add_session(StreamSession* s);
  void remove_session(StreamSession* s);
  TopicEntry* join_topic(const std::string& topic, StreamSession* s, std::uint32_t slot,
                         std::size_t& index);
  void leave_topic(TopicEntry* entry, std::size_t index);
  // Any thread, in id order (the store's ordered section): queues a batch for
  // this worker's streams.
  void enqueue_fanout(std::shared_ptr<const FanoutBatch> batch);
  void schedule_flush(StreamSession* s);
  void begin_drain(std::uint64_t window_ms);
  std::size_t session_count() const { return sessions_.size(); }
  // Any thread: events waiting in the inbox, not yet in a pass.
  std::size_t waiting_events() const { return waiting_events_.load(std::memory_order_relaxed); }
  std::size_t waiting_bytes() const { return waiting_bytes_.load(std::memory_order_relaxed); }
  // True once destruction began: streams destroyed with the io_context skip the
  // registries, which are already gone.
  bool shutting_down() const { return shutting_down_; }

 private:
  void arm_heartbeat();
  void send_heartbeats();
  void arm_expiry_check();
  static constexpr std::chrono::milliseconds kDrainTick{20};
  void drain_tick();
  void arm_drain_tick();
  using Pass = FanoutPass<StreamSession, TopicEntry>;
  struct PassEvent {
    std::uint64_t seq;
    const std::shared_ptr<const std::string>* frame;  // owned by the pass's batches
  };
  // A gap signal alone, or the event batches that waited together, in order.
  struct BatchPass {
    std::vector<std::shared_ptr<const FanoutBatch>> batches;
    std::vector<PassEvent> events;
    Pass pass;
  };
  // Events one pass takes at most from batches that queued while the worker was
  // busy (one batch alone may hold more).
  static constexpr std::size_t kMaxPassEvents = 256;
  struct HeartbeatPass {
    std::shared_ptr<const std::string> frame;
    // The tick that began the round: a stream is judged stalled as of then, so a
    // pause between two slices is never held against it.
    std::chrono::steady_clock::time_point at;
    Pass pass;
  };
  void on_inbox();
  // One slice of the running passes; posts the next slice while work remains.
  void run_slice();
  void post_slice();
  bool start_batch_pass();  // false when the inbox is empty
  void deliver_to(StreamSession& s, const BatchPass& p);
  void start_heartbeats(std::chrono::steady_clock::time_point at);
  void heartbeat_to(StreamSession& s);
  void erase_topic(std::string topic);  // by value: the entry owning the name dies here
  void finish_fanout();

  const std::size_t index_;
  ServerContext& ctx_;
  HttpDeps http_deps_;
  StreamDeps stream_deps_;
  Hub& hub_;
  bool delivering_ = false;
  const std::size_t slice_streams_;  // streams per fan-out handler (stream.fanout_slice)
  bool slice_posted_ = false;
  std::uint64_t passes_ = 0;
  std::optional<BatchPass> batch_pass_;
  std::optional<HeartbeatPass> heartbeat_pass_;
  // A tick came while the previous round still ran: the next starts when it ends.
  std::optional<std::chrono::steady_clock::time_point> heartbeat_due_;
  bool shutting_down_ = false;
  std::chrono::steady_clock::time_point drain_end_;
  int drain_deferred_ = 0;  // drain ticks that waited for a fan-out
  WorkerCounters counters_;
  // The registries are declared before the io_context so that they outlive the
  // streams it destroys.
  std::unordered_map<std::string, std::unique_ptr<TopicEntry>> topics_;
  std::vector<StreamSession*> sessions_;
  // Streams to flush at the end of the current fan-out. Raw pointers are safe: a
  // stream outlives the handler in which it was queued (its pending operations
  // own it, and their completions run in later handlers).
  std::vector<StreamSession*> dirty_;
  std::vector<std::string> empty_topics_;
  // Batches waiting for this thread. Asio does not keep the order of posts made
  // from different threads (a post from the context's own thread is queued
  // privately until its handler returns), so order comes from this queue.
  // Past kMaxInboxBytes its content becomes one gap signal (see FanoutInbox).
  std::mutex inbox_mutex_;
  FanoutInbox inbox_{kMaxInboxBytes};
  // inbox_.events() and bytes(), written under its mutex.
  std::atomic<std::size_t> waiting_events_{0};
  std::atomic<std::size_t> waiting_bytes_{0};
  std::uint64_t slices_ = 0;  // numbers the slices, for heartbeat_share
  net::io_context ioc_{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  net::steady_timer heartbeat_timer_;
  StallWatch stall_watch_;
  net::steady_timer drain_timer_;
  net::steady_timer expiry_timer_;
};

}  // namespace ssehub
