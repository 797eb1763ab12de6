#pragma once
// The stop request of a component whose threads wait on a condition variable
// under the same mutex as their queue.

#include <condition_variable>
#include <mutex>

namespace ssehub {

// Sets `stopping` under `mutex` and wakes every waiter on `wake`. False when it
// was set already: the first caller stops the threads, later ones return.
inline bool raise_stop(std::mutex& mutex, bool& stopping, std::condition_variable& wake) {
  {
    std::lock_guard lock(mutex);
    if (stopping) return false;
    stopping = true;
  }
  wake.notify_all();
  return true;
}

}  // namespace ssehub
