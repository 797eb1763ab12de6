#include "stream/fanout_inbox.hpp"

#include <algorithm>
#include <utility>

#include "core/event_id.hpp"

namespace ssehub {

std::size_t FanoutInbox::size_of(const FanoutBatch& b) {
  std::size_t n = sizeof(FanoutBatch);
  for (const auto& f : b.frames) n += f ? f->size() : 0;
  return n;
}

bool FanoutInbox::push(std::shared_ptr<const FanoutBatch> batch) {
  const bool was_empty = batches_.empty();
  const std::size_t size = size_of(*batch);
  // One batch alone is never a backlog, however large.
  if (was_empty || bytes_ + size <= max_bytes_) {
    bytes_ += size;
    events_ += batch->picks.size();
    batches_.push_back(std::move(batch));
    return was_empty;
  }
  // Over the bound: everything held and this batch become one gap signal.
  batches_.push_back(std::move(batch));
  auto gap = std::make_shared<FanoutBatch>();
  gap->events = std::make_shared<const EventBatch>();
  for (const auto& b : batches_) {
    if (b->gap_resume > gap->gap_resume) {
      gap->gap_resume = b->gap_resume;
      gap->gap_epoch = b->gap_epoch;
    }
    for (const auto& ev : *b->events) {
      if (ev.seq <= gap->gap_resume) continue;
      auto id = parse_event_id(ev.id);
      gap->gap_resume = ev.seq;
      gap->gap_epoch = id ? id->epoch : gap->gap_epoch;
    }
  }
  batches_.clear();
  batches_.push_back(std::move(gap));
  bytes_ = size_of(*batches_.back());
  events_ = 0;
  ++overflows_;
  return was_empty;
}

std::vector<std::shared_ptr<const FanoutBatch>> FanoutInbox::take_next(std::size_t max_events) {
  std::vector<std::shared_ptr<const FanoutBatch>> out;
  std::size_t events = 0;
  while (!batches_.empty()) {
    const FanoutBatch& next = *batches_.front();
    const bool gap = next.gap_resume != 0;
    if (!out.empty() && (gap || events + next.picks.size() > max_events)) break;
    events += next.picks.size();
    const std::size_t size = size_of(next);
    bytes_ = size > bytes_ ? 0 : bytes_ - size;
    events_ -= std::min(events_, next.picks.size());
    out.push_back(std::move(batches_.front()));
    batches_.pop_front();
    if (gap) break;
  }
  if (batches_.empty()) bytes_ = events_ = 0;
  return out;
}

}  // namespace ssehub
