#include "bus/redis/live_sequencer.hpp"

#include <algorithm>

namespace ssehub {

LiveSequencer::Step LiveSequencer::on_event(Event ev) {
  Step step;
  if (ev.seq <= complete_) {
    ++duplicates_;
    return step;
  }
  if (!buffered_.empty() && ev.seq <= buffered_.back().seq) {
    // Out of order: not what one publisher connection sends. The store decides.
    ++duplicates_;
    step.recover = true;
    return step;
  }
  buffered_.push_back(std::move(ev));
  step.recover = buffered_.size() > max_buffered_;
  return step;
}

LiveSequencer::Step LiveSequencer::on_notice(std::uint64_t base, std::uint64_t head) {
  Step step;
  if (head <= complete_) return step;  // already settled (a recovery read past it)
  if (base > complete_) {
    step.recover = true;  // (complete_, base] was not (fully) published
    return step;
  }
  step.deliver = release_through(head);
  complete_ = head;
  return step;
}

void LiveSequencer::recovered(std::uint64_t head) {
  settled_ = std::max(settled_, head);
  if (head <= complete_) return;
  complete_ = head;
  // Buffered events up to the head came with the recovery (or its gap signal).
  auto keep = std::find_if(buffered_.begin(), buffered_.end(),
                           [&](const Event& e) { return e.seq > complete_; });
  buffered_.erase(buffered_.begin(), keep);
}

LiveSequencer::Beyond LiveSequencer::drop_beyond(std::uint64_t store_head) {
  Beyond b;
  auto first = std::find_if(buffered_.begin(), buffered_.end(),
                            [&](const Event& e) { return e.seq > store_head; });
  b.dropped = static_cast<std::size_t>(buffered_.end() - first);
  buffered_.erase(first, buffered_.end());
  b.store_went_back = store_head < settled_;
  // Never below what was handed on: delivery stays in seq order even when the
  // store itself lost committed events (a failover to a standby that lagged).
  if (complete_ > store_head && complete_ > settled_) {
    complete_ = settled_;
    b.mark_reset = true;
  }
  return b;
}

bool LiveSequencer::store_ahead(std::uint64_t store_head) {
  const bool behind = lagging_head_ > complete_;
  lagging_head_ = store_head > complete_ ? store_head : 0;
  return behind;
}

std::vector<Event> LiveSequencer::release_through(std::uint64_t head) {
  auto end = std::find_if(buffered_.begin(), buffered_.end(),
                          [&](const Event& e) { return e.seq > head; });
  std::vector<Event> out(std::make_move_iterator(buffered_.begin()), std::make_move_iterator(end));
  buffered_.erase(buffered_.begin(), end);
  if (!out.empty()) settled_ = std::max(settled_, out.back().seq);
  return out;
}

}  // namespace ssehub
