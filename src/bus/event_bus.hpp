#pragma once
// The live event bus: carries committed batches to every replica's hub.
//
// Threads: publish() is called inside the store's ordered section; the sink may be
// called from any thread and must only post work (the hub's dispatch does).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.hpp"

namespace ssehub {

using BatchSink = std::function<void(EventBatchPtr)>;
// Events up to `resume_seq` could not be delivered live: every stream is told with
// `replay-truncated` (id `<epoch>-<resume_seq>`) and goes on after it.
using GapSink = std::function<void(const std::string& epoch, std::uint64_t resume_seq)>;

class EventBus {
 public:
  virtual ~EventBus() = default;

  virtual std::string_view kind() const = 0;
  virtual void start(BatchSink sink) = 0;
  // By value (here and in subscribed()): the buses that use them keep them.
  virtual void set_gap_sink(GapSink /*sink*/) {}  // NOLINT(performance-unnecessary-value-param)
  virtual void publish(EventBatchPtr batch) = 0;

  // The replica gained its first / lost its last local subscriber of a topic.
  virtual void topic_added(const std::string& topic) { (void)topic; }
  virtual void topic_removed(const std::string& topic) { (void)topic; }
  // True when live delivery of every topic is already in effect. Otherwise false,
  // and `later` is called (from any thread) once it is, or once the bus gave up
  // waiting (it then recovers what was missed when it reconnects).
  virtual bool subscribed(
      const std::vector<std::string>& /*topics*/,
      std::function<void()> /*later*/) {  // NOLINT(performance-unnecessary-value-param)
    return true;
  }
  // The highest seq this bus may have delivered in part: events of a batch heard
  // before one of its topics was subscribed, which can still wait in a reactor
  // thread's inbox. A stream that begins now treats what it is offered up to there
  // as incomplete (see ReplayHandoff::subscribed). 0 for a bus that never does.
  virtual std::uint64_t incomplete_through() const { return 0; }

  virtual bool ready() const = 0;
  virtual std::string health_json() const = 0;
  // Appends the bus's own series to /metrics (Prometheus text).
  virtual void render_metrics(std::string& out) const { (void)out; }
  virtual void stop() {}
};

}  // namespace ssehub
