#include "context.hpp"

#include <algorithm>
#include <thread>

namespace ssehub::chaos {

bool nap(Ms d, const std::atomic<bool>& flag) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!flag) {
    const auto left = std::chrono::duration_cast<Ms>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    std::this_thread::sleep_for(std::min(left, Ms(50)));
  }
  return false;
}

}  // namespace ssehub::chaos
