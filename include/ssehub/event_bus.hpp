#pragma once
// The live event bus: carries committed batches to every replica's hub.
//
// Threads: publish() is called inside the store's ordered section; the sink may be
// called from any thread and must only post work (the hub's dispatch does).

#include <functional>
#include <string>
#include <string_view>

#include "ssehub/event.hpp"

namespace ssehub {

using BatchSink = std::function<void(EventBatchPtr)>;

class EventBus {
 public:
  virtual ~EventBus() = default;

  virtual std::string_view kind() const = 0;
  virtual void start(BatchSink sink) = 0;
  virtual void publish(EventBatchPtr batch) = 0;

  // The replica gained its first / lost its last local subscriber of a topic.
  virtual void topic_added(const std::string& topic) { (void)topic; }
  virtual void topic_removed(const std::string& topic) { (void)topic; }

  virtual bool ready() const = 0;
  virtual std::string health_json() const = 0;
  // Appends the bus's own series to /metrics (Prometheus text).
  virtual void render_metrics(std::string& out) const { (void)out; }
  virtual void stop() {}
};

}  // namespace ssehub
