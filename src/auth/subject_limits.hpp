#pragma once
// stream.max_connections_per_subject: how many streams each token subject holds.
// Threads: any (one mutex).

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ssehub {

class SubjectLimits {
 public:
  explicit SubjectLimits(std::uint64_t cap = 0) : cap_(cap) {}  // 0 = no cap

  // False when the subject is at its cap; else it holds one more stream.
  bool acquire(const std::string& subject);
  void release(const std::string& subject);

 private:
  std::uint64_t cap_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::uint64_t> held_;
};

}  // namespace ssehub
