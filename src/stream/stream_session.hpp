#pragma once
// One open event stream (GET /events) after the HTTP request was read.
//
// Lifetime: owned by the pending socket operations (shared_from_this); the worker's
// registries hold raw pointers that close() removes. Threads: everything runs on
// the owning worker's thread. Writes: frames are queued (bounded by
// stream.queue_limit_bytes) and written with one gathered, non-blocking write per
// flush; only when the socket is full does the stream wait for it to drain.
// Phases: one StreamState, moved only along allowed() (stream_state.hpp).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/replay_handoff.hpp"
#include "core/stall_watch.hpp"
#include "http/request_parsing.hpp"
#include "net/net.hpp"
#include "server_context.hpp"
#include "store/event_store.hpp"
#include "stream/frame_queue.hpp"
#include "stream/stream_deps.hpp"
#include "stream/stream_state.hpp"

namespace ssehub {

class Worker;
struct TopicEntry;

class StreamSession : public std::enable_shared_from_this<StreamSession> {
 public:
  // `subject` holds one unit of its stream.max_connections_per_subject until the
  // stream is destroyed; `expires_at` (unix seconds, 0 = never) ends the stream
  // with `token-expired`.
  StreamSession(tcp::socket socket, Worker& worker, EventsRequest request, ConnectionSlot slot,
                std::string extra_headers, std::string subject = {}, std::int64_t expires_at = 0);
  ~StreamSession();

  // Subscribes to live delivery; once the bus confirms it, writes the head and
  // `ready`, then replays.
  void start();

  // Worker thread only.
  // write_direct: the frame is the only one in its batch, so an idle stream may
  // send it at once instead of queueing it for the batch's gathered write.
  void push_live(std::uint64_t seq, const std::shared_ptr<const std::string>& frame,
                 bool write_direct);
  // False when nothing was queued (before the head, or once ending).
  bool push_control(std::shared_ptr<const std::string> frame);
  // Live events up to `resume_seq` could not be delivered: `replay-truncated`,
  // unless this stream already has everything up to there.
  void signal_gap(const std::string& epoch, std::uint64_t resume_seq);
  void flush();
  void end_for_drain();
  // Closed, or ending once its queue is written.
  bool ending() const { return ending_or_closed(state_); }
  void end_for_expiry();
  std::int64_t expires_at() const { return expires_at_; }
  std::size_t& topic_index(std::uint32_t slot) { return slots_[slot].index; }
  // For the worker's fan-out passes (FanoutPass).
  template <class Fn>
  void each_topic(Fn&& fn) const {
    for (const auto& slot : slots_) {
      if (slot.entry != nullptr) fn(slot.entry);
    }
  }
  bool mark_for_pass(std::uint64_t pass) { return std::exchange(last_pass_, pass) != pass; }
  // True when the socket has been full, with no byte written, for longer than `limit`.
  // Time counts as the worker's watch says (not while the daemon was paused).
  bool stalled(const StallWatch& watch, std::chrono::steady_clock::time_point now,
               std::chrono::milliseconds limit) const;
  void close(std::string_view reason);

 private:
  friend class Worker;
  struct TopicSlot {
    TopicEntry* entry = nullptr;
    std::size_t index = 0;
  };

  // Moves to `to` if allowed(state_, to); any other move is a bug (asserted,
  // logged and ignored in a release build).
  void enter(StreamState to);
  void begin();  // the subscription is in effect
  void start_replay();
  void send_gap(const std::string& epoch, std::uint64_t resume_seq);
  std::string encode_gap(const std::string& epoch, std::uint64_t resume_seq) const;
  void on_replay(ReplayResult result, std::chrono::steady_clock::time_point started);
  void enqueue(std::shared_ptr<const std::string> frame);
  void write_now();
  void write_frame_now(const std::shared_ptr<const std::string>& frame);
  // `bytes` from the front of the queue were written.
  void consume(std::size_t bytes);
  void on_writable(error_code ec);
  void do_read_probe();
  void on_read_probe(error_code ec);
  // Leaves every topic: no more live events.
  void leave_topics();
  // Leaves every topic and the worker's list of sessions.
  void unregister();
  // Stops live delivery, sends `frame` and closes with `reason` (a literal) once
  // it is written.
  void end_after(std::shared_ptr<const std::string> frame, std::string_view reason);

  tcp::socket socket_;
  Worker& worker_;
  const StreamDeps& deps_;
  EventsRequest request_;
  ConnectionSlot slot_;
  std::string extra_headers_;
  std::string subject_;
  std::int64_t expires_at_ = 0;
  std::string_view end_reason_ = "draining";  // a literal; logged when an ending stream closes
  std::string id_;
  std::chrono::steady_clock::time_point opened_;
  std::chrono::steady_clock::duration last_progress_;  // in the worker's running time

  std::vector<TopicSlot> slots_;
  std::size_t worker_pos_ = SIZE_MAX;  // index in the worker's stream list
  std::uint64_t last_pass_ = 0;        // the last fan-out pass that counted this stream
  ReplayHandoff handoff_;
  StreamState state_ = StreamState::subscribing;
  std::uint64_t pending_gap_ = 0;  // a gap signalled while replaying
  std::string pending_gap_epoch_;

  FrameQueue queue_;  // not yet written
  std::uint64_t events_sent_ = 0;
  char probe_[16];
  bool waiting_writable_ = false;
  bool flush_scheduled_ = false;
};

}  // namespace ssehub
