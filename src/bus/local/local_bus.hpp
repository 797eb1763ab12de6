#pragma once
// The in-process bus: a published batch goes straight to this replica's hub.

#include "bus/event_bus.hpp"

namespace ssehub {

class LocalBus final : public EventBus {
 public:
  std::string_view kind() const override { return "local"; }
  void start(BatchSink sink) override { sink_ = std::move(sink); }
  void publish(EventBatchPtr batch) override {
    if (sink_) sink_(std::move(batch));
  }
  bool ready() const override { return true; }
  std::string health_json() const override { return R"({"kind":"local","state":"ready"})"; }

 private:
  BatchSink sink_;
};

}  // namespace ssehub
