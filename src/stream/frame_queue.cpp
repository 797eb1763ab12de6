#include "stream/frame_queue.hpp"

namespace ssehub {

void FrameQueue::push(Frame frame) {
  if (frame->empty()) return;
  bytes_ += frame->size();
  frames_.push_back(std::move(frame));
}

std::size_t FrameQueue::front(std::span<std::string_view> out) const {
  std::size_t n = 0;
  for (std::size_t i = head_; i < frames_.size() && n < out.size(); ++i, ++n) {
    std::string_view f = *frames_[i];
    out[n] = i == head_ ? f.substr(offset_) : f;
  }
  return n;
}

void FrameQueue::consume(std::size_t bytes) {
  bytes_ -= bytes;
  while (bytes > 0) {
    std::size_t left = frames_[head_]->size() - offset_;
    if (bytes < left) {
      offset_ += bytes;
      break;
    }
    bytes -= left;
    frames_[head_++].reset();
    offset_ = 0;
  }
  if (head_ == frames_.size()) {
    frames_.clear();
    head_ = 0;
  } else if (head_ >= kCompactFrom && head_ * 2 >= frames_.size()) {
    frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

}  // namespace ssehub
