#include "stream/stream_session.hpp"

#include <spdlog/spdlog.h>
#include <array>
#include <cassert>
#include <nlohmann/json.hpp>
#include <span>

#include "core/sse_frame.hpp"
#include "platform/random.hpp"
#include "store/memory/memory_store.hpp"
#include "stream/worker.hpp"

namespace ssehub {
namespace {

std::uint64_t jittered_retry(const StreamConfig& c) {
  if (c.retry_jitter_ms == 0) return c.retry_ms;
  return c.retry_ms + random_between(0, c.retry_jitter_ms);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

}  // namespace

StreamSession::StreamSession(tcp::socket socket, Worker& worker, EventsRequest request,
                             ConnectionSlot slot, std::string extra_headers, std::string subject,
                             std::int64_t expires_at)
    : socket_(std::move(socket)),
      worker_(worker),
      deps_(worker.stream_deps()),
      request_(std::move(request)),
      slot_(std::move(slot)),
      extra_headers_(std::move(extra_headers)),
      subject_(std::move(subject)),
      expires_at_(expires_at),
      id_(random_token(12)),
      opened_(std::chrono::steady_clock::now()),
      last_progress_(worker.stall_watch().running(opened_)),
      handoff_(deps_.stream.queue_limit_bytes) {}

StreamSession::~StreamSession() {
  if (!subject_.empty()) deps_.subjects.release(subject_);
  if (!worker_.shutting_down()) unregister();
}

void StreamSession::enter(StreamState to) {
  const bool ok = allowed(state_, to);
  assert(ok && "stream state move not allowed");
  if (!ok) {
    spdlog::error("stream state conn={} from={} to={}: not allowed, ignored", id_,
                  to_string(state_), to_string(to));
    return;
  }
  state_ = to;
}

void StreamSession::start() {
  if (state_ != StreamState::subscribing) return;
  bump(deps_.metrics.streams_total);
  deps_.metrics.streams_open.fetch_add(1, std::memory_order_relaxed);
  // Subscribe before anything is sent: every event published after the client
  // sees `ready` reaches it. Live events are held until then.
  worker_.add_session(this);
  slots_.resize(request_.topics.size());
  for (std::uint32_t i = 0; i < request_.topics.size(); ++i) {
    slots_[i].entry = worker_.join_topic(request_.topics[i], this, i, slots_[i].index);
  }
  handoff_.begin_replay();
  error_code ignored;
  socket_.non_blocking(true, ignored);
  do_read_probe();
  auto self = shared_from_this();
  // A bus that subscribes remotely (Redis) confirms first. NOTE: the callback
  // runs on the bus's thread; it moves its reference into the posted handler,
  // so the session is never destroyed (and unregistered) off its worker.
  if (deps_.bus.subscribed(request_.topics, [self]() mutable {
        auto& io = self->worker_.io();
        net::post(io, [self = std::move(self)] { self->begin(); });
      })) {
    begin();
  }
}

void StreamSession::begin() {
  if (state_ != StreamState::subscribing) return;
  // First: push_control queues nothing while subscribing.
  enter(request_.last_event_id.present() ? StreamState::replaying : StreamState::live);
  handoff_.subscribed(deps_.bus.incomplete_through());
  std::string head =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\n"
      "X-Accel-Buffering: no\r\n"
      "Connection: close\r\n" +
      extra_headers_ + "\r\n";
  head += encode_retry(jittered_retry(deps_.stream));
  nlohmann::json ready = {{"connectionId", id_},
                          {"heartbeatMs", deps_.stream.heartbeat_ms},
                          {"replica", deps_.replica_id}};
  // Read after every topic is subscribed: resuming from it misses nothing
  // published after `ready`, even on a stream that never receives an event.
  if (auto at = deps_.store.position()) ready["lastId"] = at->str();
  head += encode_event("", "ready", ready.dump());
  spdlog::info("stream open conn={} topics={} last_event_id={}", id_, join(request_.topics),
               request_.last_event_id.present() ? request_.last_event_id.raw : "-");
  push_control(std::make_shared<const std::string>(std::move(head)));
  if (request_.last_event_id.present()) {
    start_replay();
  } else {
    // Events that arrived once every topic was subscribed follow `ready`; a gap
    // before `ready` concerns no promise made to this client.
    pending_gap_ = 0;
    for (auto& f : handoff_.finish_replay(handoff_.incomplete_through())) {
      enqueue(std::move(f.frame));
      ++events_sent_;
      bump_owned(worker_.counters().deliveries);
    }
  }
  flush();
}

void StreamSession::push_live(std::uint64_t seq, const std::shared_ptr<const std::string>& frame,
                              bool write_direct) {
  if (ending_or_closed(state_)) return;
  switch (handoff_.offer(seq, frame)) {
    case ReplayHandoff::Offer::deliver:
      ++events_sent_;
      bump_owned(worker_.counters().deliveries);
      if (write_direct && queue_.empty() && !waiting_writable_) {
        write_frame_now(frame);
      } else {
        enqueue(frame);
      }
      break;
    case ReplayHandoff::Offer::held:
    case ReplayHandoff::Offer::duplicate:
      break;
    case ReplayHandoff::Offer::overflow:
      bump(deps_.metrics.handoff_overflows);
      spdlog::warn("stream {} held too many live events during replay; closing", id_);
      close("handoff overflow");
      break;
  }
}

bool StreamSession::push_control(std::shared_ptr<const std::string> frame) {
  // Nothing may precede the response head (heartbeats while the bus subscribes).
  if (state_ != StreamState::replaying && state_ != StreamState::live) return false;
  enqueue(std::move(frame));
  return true;
}

void StreamSession::enqueue(std::shared_ptr<const std::string> frame) {
  if (state_ == StreamState::closed) return;
  queue_.push(std::move(frame));
  const std::uint64_t limit = deps_.stream.queue_limit_bytes;
  // A burst (a replay with the live events held meanwhile, a large batch) may
  // pass the bound before anything was written: a reader that keeps up takes it
  // into its socket buffer now, and only one that does not is closed.
  if (queue_.bytes() > limit && !waiting_writable_ && state_ != StreamState::subscribing) {
    write_now();
    if (state_ == StreamState::closed) return;
  }
  if (queue_.bytes() > limit) {
    bump(deps_.metrics.slow_consumer_disconnects);
    spdlog::warn(
        "stream {} queue passed {} bytes (stream.queue_limit_bytes); closing slow consumer", id_,
        limit);
    close("slow consumer");
    return;
  }
  if (!waiting_writable_ && !flush_scheduled_) {
    flush_scheduled_ = true;
    worker_.schedule_flush(this);
  }
}

void StreamSession::flush() {
  flush_scheduled_ = false;
  if (state_ == StreamState::closed || waiting_writable_) return;
  write_now();
}

// Writes everything queued with gathered, non-blocking writes. Only a full socket
// makes the stream wait (for writability), so an idle-enough client costs one
// sendmsg per flush and no asynchronous operation at all.
void StreamSession::write_now() {
  constexpr std::size_t kMaxGather = 64;
  std::array<std::string_view, kMaxGather> spans;
  std::array<net::const_buffer, kMaxGather> buffers;
  while (!queue_.empty()) {
    const std::size_t n = queue_.front(spans);
    std::size_t requested = 0;
    for (std::size_t i = 0; i < n; ++i) {
      buffers[i] = net::buffer(spans[i]);
      requested += spans[i].size();
    }
    error_code ec;
    std::size_t written = socket_.write_some(std::span(buffers.data(), n), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) break;
    if (ec) return close("write failed");
    bump_owned(worker_.counters().bytes_written, written);
    consume(written);
    if (written < requested) break;  // the socket buffer is full
  }
  if (!queue_.empty()) {
    waiting_writable_ = true;
    socket_.async_wait(tcp::socket::wait_write,
                       [self = shared_from_this()](error_code ec) { self->on_writable(ec); });
    return;
  }
  if (state_ == StreamState::ending) close(end_reason_);
}

// The common case of a stream with nothing queued: one send straight from the
// shared frame; only what the socket does not take is queued.
void StreamSession::write_frame_now(const std::shared_ptr<const std::string>& frame) {
  error_code ec;
  std::size_t written = socket_.write_some(net::buffer(*frame), ec);
  if (ec && ec != net::error::would_block && ec != net::error::try_again) {
    return close("write failed");
  }
  bump_owned(worker_.counters().bytes_written, written);
  if (written == frame->size()) return;
  queue_.push(frame);
  consume(written);
  flush();
}

void StreamSession::consume(std::size_t bytes) {
  queue_.consume(bytes);
  last_progress_ = worker_.stall_watch().running(std::chrono::steady_clock::now());
}

bool StreamSession::stalled(const StallWatch& watch, std::chrono::steady_clock::time_point now,
                            std::chrono::milliseconds limit) const {
  return waiting_writable_ && watch.stalled(last_progress_, now, limit);
}

void StreamSession::on_writable(error_code ec) {
  waiting_writable_ = false;
  if (state_ == StreamState::closed) return;
  if (ec) return close("write failed");
  write_now();
}

// The client sends nothing after its request; a completed read means it went away.
void StreamSession::do_read_probe() {
  socket_.async_read_some(
      net::buffer(probe_),
      [self = shared_from_this()](error_code ec, std::size_t) { self->on_read_probe(ec); });
}

void StreamSession::on_read_probe(error_code ec) {
  if (state_ == StreamState::closed) return;
  if (!ec) return do_read_probe();
  close(ec == net::error::eof ? "client closed" : "read failed");
}

void StreamSession::end_for_drain() {
  end_after(std::make_shared<const std::string>(encode_retry(jittered_retry(deps_.stream))),
            "draining");
}

// The client reconnects with a fresh token instead of holding access past exp.
void StreamSession::end_for_expiry() {
  nlohmann::json data = {{"exp", expires_at_}};
  end_after(std::make_shared<const std::string>(encode_event("", "token-expired", data.dump())),
            "token expired");
}

void StreamSession::end_after(std::shared_ptr<const std::string> frame, std::string_view reason) {
  if (ending_or_closed(state_)) return;
  if (state_ == StreamState::subscribing) return close(reason);  // no response started
  // Still in the worker's list: a stream whose socket stays full while it ends
  // is let go by the stall check like any other.
  leave_topics();
  end_reason_ = reason;
  enter(StreamState::ending);
  enqueue(std::move(frame));
  flush();
}

void StreamSession::leave_topics() {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].entry) worker_.leave_topic(slots_[i].entry, slots_[i].index);
    slots_[i].entry = nullptr;
  }
}

void StreamSession::unregister() {
  leave_topics();
  worker_.remove_session(this);
}

void StreamSession::close(std::string_view reason) {
  if (state_ == StreamState::closed) return;
  enter(StreamState::closed);
  unregister();
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  deps_.metrics.streams_open.fetch_sub(1, std::memory_order_relaxed);
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(steady_clock::now() - opened_).count();
  spdlog::info("stream close conn={} topics={} duration_ms={} events={} reason={}", id_,
               join(request_.topics), ms, events_sent_, reason);
}

}  // namespace ssehub
