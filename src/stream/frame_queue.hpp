#pragma once
// The frames of one stream not yet written to its socket, in order, the first one
// possibly written in part. Frames are shared (one fan-out frame serves every
// stream), so the queue holds references and an offset into the first. Pure and
// socket-free: the writer asks for the next spans, writes what the socket takes
// and reports it with consume(). Written slots are dropped once they make up the
// larger part of the queue, so a reader that keeps up but never fully drains
// does not grow it. Owned by one stream and used from its thread only; the bound
// (stream.queue_limit_bytes) is the stream's to enforce.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ssehub {

class FrameQueue {
 public:
  using Frame = std::shared_ptr<const std::string>;

  // An empty frame has nothing to write and is not queued.
  void push(Frame frame);

  // Fills `out` with the unwritten bytes from the front, one span per frame, as
  // many as fit; returns how many it filled.
  std::size_t front(std::span<std::string_view> out) const;

  // `bytes` (at most bytes()) from the front were written.
  void consume(std::size_t bytes);

  std::size_t bytes() const { return bytes_; }
  bool empty() const { return head_ == frames_.size(); }
  // Slots held, written ones not yet dropped included.
  std::size_t slots() const { return frames_.size(); }

 private:
  // Written prefix dropped only from this many slots on, to keep erasing rare.
  static constexpr std::size_t kCompactFrom = 64;

  std::vector<Frame> frames_;  // unwritten: frames_[head_..], the first from offset_
  std::size_t head_ = 0;
  std::size_t offset_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace ssehub
