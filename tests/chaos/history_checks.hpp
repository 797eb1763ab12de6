#pragma once
// The parts of the history checker that its files share: the report that collects
// violations, the committed log as the checker looks it up, and the per-subscriber
// walk (history_subscribers.cpp) that check_delivery() runs for each subscriber.
// Internal to the checker; tests use history.hpp.

#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "history.hpp"

namespace ssehub::chaos {

// Messages of one kind past this many are counted, not listed.
constexpr std::size_t kPerKind = 20;

// Collects violations, keeping the first kPerKind of each kind and a count of the rest.
class Report {
 public:
  Report(std::vector<std::string>& out, KindCounts& kinds) : out_(out), kinds_(kinds) {}
  Report(const Report&) = delete;
  ~Report() {
    for (const auto& [kind, n] : counts_) {
      if (n > kPerKind) out_.push_back(kind + ": " + std::to_string(n - kPerKind) + " more");
    }
  }
  void add(const std::string& kind, std::string message) {
    ++kinds_[without_numbers(kind)];
    if (++counts_[kind] <= kPerKind) out_.push_back(std::move(message));
  }

 private:
  static std::string without_numbers(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c < '0' || c > '9') {
        out += c;
      } else if (out.empty() || out.back() != 'N') {
        out += 'N';
      }
    }
    return out;
  }

  std::vector<std::string>& out_;
  KindCounts& kinds_;
  std::map<std::string, std::size_t> counts_;
};

// The committed log, looked up by seq and by marker.
class Store {
 public:
  explicit Store(const History& h) : epoch_(h.epoch) {
    rows_.reserve(h.committed.size());
    for (const auto& e : h.committed) rows_.push_back(&e);
    std::sort(rows_.begin(), rows_.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
    for (const auto* e : rows_) by_marker_[e->marker].push_back(e->seq);
  }
  const CommittedEvent* at(Seq seq) const {
    auto it = std::lower_bound(rows_.begin(), rows_.end(), seq,
                               [](auto* e, Seq s) { return e->seq < s; });
    return it != rows_.end() && (*it)->seq == seq ? *it : nullptr;
  }
  // Seqs holding `marker`, in seq order; empty when it was never committed.
  const std::vector<Seq>& seqs_of(Marker marker) const {
    static const std::vector<Seq> none;
    auto it = by_marker_.find(marker);
    return it == by_marker_.end() ? none : it->second;
  }
  const std::vector<const CommittedEvent*>& rows() const { return rows_; }
  const std::string& epoch() const { return epoch_; }

 private:
  std::string epoch_;
  std::vector<const CommittedEvent*> rows_;
  std::unordered_map<Marker, std::vector<Seq>> by_marker_;
};

// Which publish (index into History::publishes) each marker came from.
using OpOfMarker = std::unordered_map<Marker, std::size_t>;

// "http 3 (acknowledged 201, 2 events)": how a publish reads in violations.
std::string describe_op(const PublishOp& op);

// Walks one subscriber's connections and checks them against the committed log.
SubscriberTally check_subscriber(const SubscriberHistory& s, const History& h, const Store& store,
                                 const OpOfMarker& op_of, Report& report, CheckResult& result);

}  // namespace ssehub::chaos
