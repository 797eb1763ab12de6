#include "core/replay_handoff.hpp"

namespace ssehub {

ReplayHandoff::Offer ReplayHandoff::offer(std::uint64_t seq,
                                          const std::shared_ptr<const std::string>& frame) {
  if (seq > highest_offered_) highest_offered_ = seq;
  if (replaying_) {
    std::size_t bytes = frame ? frame->size() : 0;
    if (held_bytes_ + bytes > max_held_bytes_) return Offer::overflow;
    held_bytes_ += bytes;
    held_.push_back(LiveFrame{seq, frame});
    return Offer::held;
  }
  if (seq <= last_seq_) return Offer::duplicate;
  last_seq_ = seq;
  return Offer::deliver;
}

std::vector<LiveFrame> ReplayHandoff::finish_replay(std::uint64_t covered_through) {
  replaying_ = false;
  if (covered_through > last_seq_) last_seq_ = covered_through;
  std::vector<LiveFrame> out;
  out.reserve(held_.size());
  for (auto& f : held_) {
    if (f.seq <= last_seq_) continue;
    last_seq_ = f.seq;
    out.push_back(std::move(f));
  }
  held_.clear();
  held_.shrink_to_fit();
  held_bytes_ = 0;
  return out;
}

}  // namespace ssehub
