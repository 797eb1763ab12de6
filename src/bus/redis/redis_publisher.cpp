#include "bus/redis/redis_publisher.hpp"

#include <spdlog/spdlog.h>

namespace ssehub {

void RedisPublisher::publish(const EventBatch& batch) {
  if (batch.empty()) return;
  std::lock_guard lock(mutex_);
  if (std::chrono::steady_clock::now() < retry_at_) {
    bump(failures_);
    return;
  }
  try {
    if (!conn_) conn_ = std::make_unique<RedisConnection>(endpoint_, timeout_);
    // The notice goes last: it tells subscribers the whole batch is out.
    for (const auto& ev : batch) {
      conn_->append({"PUBLISH", redis::topic_channel(prefix_, ev.topic), redis::encode_event(ev)});
    }
    redis::HeadsNotice notice{batch.front().seq - 1, batch.back().seq};
    conn_->append({"PUBLISH", redis::heads_channel(prefix_), redis::encode_heads(notice)});
    conn_->flush();
    for (std::size_t i = 0; i <= batch.size(); ++i) conn_->read_reply();
    bump(published_, batch.size());
  } catch (const std::exception& e) {
    conn_.reset();
    retry_at_ = std::chrono::steady_clock::now() + kBackoff;
    bump(failures_);
    spdlog::error(
        "redis publish failed: {}; events stay in the store and are recovered by "
        "subscribers",
        e.what());
  }
}

}  // namespace ssehub
