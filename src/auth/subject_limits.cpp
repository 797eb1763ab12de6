#include "auth/subject_limits.hpp"

namespace ssehub {

bool SubjectLimits::acquire(const std::string& subject) {
  std::lock_guard lock(mutex_);
  auto& n = held_[subject];
  if (cap_ != 0 && n >= cap_) {
    if (n == 0) held_.erase(subject);
    return false;
  }
  ++n;
  return true;
}

void SubjectLimits::release(const std::string& subject) {
  std::lock_guard lock(mutex_);
  auto it = held_.find(subject);
  if (it == held_.end()) return;
  if (--it->second == 0) held_.erase(it);
}

}  // namespace ssehub
