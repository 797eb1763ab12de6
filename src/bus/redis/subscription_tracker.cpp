#include "bus/redis/subscription_tracker.hpp"

namespace ssehub {

void SubscriptionTracker::want(const std::string& topic) {
  topics_[topic].wanted = true;
}

void SubscriptionTracker::unwant(const std::string& topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  it->second.wanted = false;
  forget_if_idle(it);
}

std::vector<SubscriptionTracker::Change> SubscriptionTracker::changes() {
  std::vector<Change> out;
  for (auto it = topics_.begin(); it != topics_.end();) {
    auto next = std::next(it);
    Entry& e = it->second;
    if (e.wanted != e.requested) {
      e.requested = e.wanted;
      ++e.in_flight;
      out.push_back({e.wanted, it->first});
    }
    forget_if_idle(it);
    it = next;
  }
  return out;
}

void SubscriptionTracker::confirmed(const std::string& topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  if (it->second.in_flight > 0) --it->second.in_flight;
  forget_if_idle(it);
}

std::vector<std::string> SubscriptionTracker::reconnect() {
  disconnected();
  std::vector<std::string> out;
  for (auto& [topic, e] : topics_) {
    e.requested = true;
    e.in_flight = 1;
    out.push_back(topic);
  }
  return out;
}

void SubscriptionTracker::disconnected() {
  for (auto it = topics_.begin(); it != topics_.end();) {
    auto next = std::next(it);
    it->second.requested = false;
    it->second.in_flight = 0;
    forget_if_idle(it);
    it = next;
  }
}

bool SubscriptionTracker::active(const std::string& topic) const {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return false;
  const Entry& e = it->second;
  return e.wanted && e.requested && e.in_flight == 0;
}

bool SubscriptionTracker::wanted(const std::string& topic) const {
  auto it = topics_.find(topic);
  return it != topics_.end() && it->second.wanted;
}

std::size_t SubscriptionTracker::active_count() const {
  std::size_t n = 0;
  for (const auto& [topic, e] : topics_) n += active(topic) ? 1 : 0;
  return n;
}

std::vector<std::string> SubscriptionTracker::known_topics() const {
  std::vector<std::string> out;
  for (const auto& [topic, e] : topics_) out.push_back(topic);
  return out;
}

std::vector<std::string> SubscriptionTracker::active_topics() const {
  std::vector<std::string> out;
  for (const auto& [topic, e] : topics_) {
    if (active(topic)) out.push_back(topic);
  }
  return out;
}

void SubscriptionTracker::forget_if_idle(std::map<std::string, Entry>::iterator it) {
  const Entry& e = it->second;
  if (!e.wanted && !e.requested && e.in_flight == 0) topics_.erase(it);
}

}  // namespace ssehub
