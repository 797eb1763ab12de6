#pragma once
// The one place ssehub reads the wall clock. Deadlines and intervals use
// std::chrono::steady_clock directly; this is for what is shown to people and
// stored (log fields, /health, token expiry).

#include <chrono>
#include <cstdint>

namespace ssehub {

inline long long unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t unix_seconds() {
  return unix_ms() / 1000;
}

}  // namespace ssehub
