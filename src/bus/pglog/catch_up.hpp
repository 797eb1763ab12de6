#pragma once
// Whether a log follower that has delivered everything through `last` may read on
// from there. Pure. `head` and `pruned` (the retention horizon: seqs at or below
// it may be gone) come from the same snapshot as the rows read after `last`.
//
// Reading on would be a silent gap when retention deleted events the follower had
// not read yet (`last < pruned`), and a flood when it is further behind than
// `max_behind` (a long disconnect). Either way the streams are told instead: a
// gap signal at the head, from which live delivery goes on.

#include <cstdint>

namespace ssehub {

struct CatchUp {
  bool gap = false;
  std::uint64_t resume = 0;  // where delivery goes on (the head, on a gap)
};

inline CatchUp decide_catch_up(std::uint64_t last, std::uint64_t head, std::uint64_t pruned,
                               std::uint64_t max_behind) {
  if (head > last && (last < pruned || head - last > max_behind)) return {true, head};
  return {false, last};
}

}  // namespace ssehub
