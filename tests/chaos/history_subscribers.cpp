// The checker's rules for one subscriber: what each of its connections received,
// in order, and whether every committed event on its topics was received or
// declared missing by a control event.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "history_checks.hpp"

namespace ssehub::chaos {
namespace {

// ---- subscribers --------------------------------------------------------------------

struct Received {
  Seq seq = 0;
  std::size_t connection = 0;
};

struct Range {
  Seq lo = 0;  // inclusive
  Seq hi = 0;  // inclusive
};

// A replay-failed waiting for the next id on its connection, which ends its gap.
struct PendingFailure {
  bool active = false;
  Seq from = 0;  // the last seq held when it came
};

// Walks one subscriber's connections in order: the per-item rules, and what it
// received and what its control events declared missing.
class SubscriberWalk {
 public:
  SubscriberWalk(const SubscriberHistory& s, const Store& store, Report& report)
      : s_(s), store_(store), report_(report), topics_(s.topics.begin(), s.topics.end()) {
    name_ = "subscriber " + std::to_string(s.id);
  }

  void run(CheckResult& result) {
    for (std::size_t c = 0; c < s_.connections.size(); ++c) walk_connection(c, result);
  }

  const std::vector<Received>& received() const { return received_; }
  const std::vector<Range>& excused() const { return excused_; }

 private:
  std::string where(std::size_t c) const {
    const auto& conn = s_.connections[c];
    return name_ + " connection #" + std::to_string(c) + " (replica " +
           std::to_string(conn.replica) + ", Last-Event-ID '" + conn.last_event_id + "')";
  }

  void add(const std::string& rule, std::string message) {
    report_.add(name_ + ": " + rule, std::move(message));
  }

  std::optional<ParsedId> parse_in_epoch(std::size_t c, const std::string& id) {
    auto parsed = parse_id(id);
    if (!parsed) {
      add("malformed id", where(c) + ": malformed id '" + id + "'");
    } else if (parsed->epoch != store_.epoch()) {
      add("foreign epoch",
          where(c) + ": id " + id + " is not of the store's epoch " + store_.epoch());
      parsed.reset();
    }
    return parsed;
  }

  // A reconnect carries the last id held (or, before any, the start mark or nothing).
  void check_last_event_id(std::size_t c) {
    const std::string& sent = s_.connections[c].last_event_id;
    if (held_) {
      auto p = parse_id(sent);
      if (!p || p->seq != *held_) {
        add("harness: Last-Event-ID", "harness: " + where(c) + " sent Last-Event-ID '" + sent +
                                          "' while holding seq " + std::to_string(*held_));
      }
    }
  }

  void walk_connection(std::size_t c, CheckResult& result) {
    check_last_event_id(c);
    const auto& conn = s_.connections[c];
    bool ready = false;
    PendingFailure failed;  // a replay-failed: the gap ends at the next id
    for (const Delivery& d : conn.items) {
      if (d.kind != Delivery::Kind::ready && !ready) {
        add("before ready", where(c) + ": " + d.type + " '" + d.id + "' before `ready`");
      }
      switch (d.kind) {
        case Delivery::Kind::ready:
          if (ready) add("second ready", where(c) + ": a second `ready`");
          ready = true;
          break;
        case Delivery::Kind::failed:
          ++result.control_events["replay-failed " + d.reason];
          if (!failed.active) failed = {true, held_.value_or(0)};
          break;
        case Delivery::Kind::truncated:
          ++result.control_events["replay-truncated " + d.reason];
          on_truncated(c, d, failed);
          break;
        case Delivery::Kind::event:
          ++result.deliveries_checked;
          on_event(c, d, failed);
          break;
        case Delivery::Kind::other:
          add("unexpected item",
              where(c) + ": unexpected `" + d.type + "`" + (d.id.empty() ? "" : " id " + d.id));
          break;
      }
    }
    // A replay-failed with nothing after it on this connection declares nothing: the
    // next connection replays from the same id.
  }

  // Ids strictly increase across the whole subscriber; true when `seq` may be taken.
  bool in_order(std::size_t c, Seq seq, const std::string& what) {
    if (seen_.count(seq)) {
      add("duplicate",
          where(c) + ": " + what + " seq " + std::to_string(seq) + " was already received");
      return false;
    }
    if (held_ && seq <= *held_) {
      add("not increasing", where(c) + ": " + what + " seq " + std::to_string(seq) + " after seq " +
                                std::to_string(*held_));
      return false;
    }
    return true;
  }

  void on_truncated(std::size_t c, const Delivery& d, PendingFailure& failed) {
    auto id = parse_in_epoch(c, d.id);
    if (!id) return;
    if (in_order(c, id->seq, "replay-truncated")) {
      excused_.push_back({held_.value_or(0) + 1, id->seq});
    }
    failed = {};
    held_ = id->seq;
  }

  void on_event(std::size_t c, const Delivery& d, PendingFailure& failed) {
    auto id = parse_in_epoch(c, d.id);
    if (!id) return;
    const Seq seq = id->seq;
    const bool ordered = in_order(c, seq, "event");
    if (failed.active) {
      if (seq > failed.from + 1) excused_.push_back({failed.from + 1, seq - 1});
      failed = {};
    }
    const CommittedEvent* e = store_.at(seq);
    const std::string at = where(c) + ": event " + d.id;
    if (e == nullptr) {
      add("phantom", at + " (marker " + format_marker(d.marker) + ") is not in the store");
    } else {
      if (!topics_.count(e->topic)) {
        add("foreign topic", at + " is on topic " + e->topic + ", not subscribed");
      }
      if (e->marker != d.marker || e->topic != d.topic || e->type != d.type) {
        add("misattributed", at + " carries marker " + format_marker(d.marker) + " topic " +
                                 d.topic + " type " + d.type + " but the store has " +
                                 format_marker(e->marker) + " topic " + e->topic + " type " +
                                 e->type);
      }
    }
    if (ordered || !seen_.count(seq)) received_.push_back({seq, c});
    seen_.insert(seq);
    held_ = seq;
  }

  const SubscriberHistory& s_;
  const Store& store_;
  Report& report_;
  std::string name_;
  std::set<std::string> topics_;
  std::optional<Seq> held_;
  std::unordered_set<Seq> seen_;
  std::vector<Received> received_;
  std::vector<Range> excused_;
};

// Sorted, disjoint, adjacent ranges joined.
std::vector<Range> merge(std::vector<Range> ranges) {
  std::sort(ranges.begin(), ranges.end(), [](auto& a, auto& b) { return a.lo < b.lo; });
  std::vector<Range> out;
  for (const auto& r : ranges) {
    if (!out.empty() && r.lo <= out.back().hi + 1) {
      out.back().hi = std::max(out.back().hi, r.hi);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

class LostRun {
 public:
  void add(const CommittedEvent& e) {
    if (count_ == 0) first_ = &e;
    last_ = &e;
    ++count_;
  }
  bool empty() const { return count_ == 0; }
  std::size_t count() const { return count_; }
  const CommittedEvent& first() const { return *first_; }
  const CommittedEvent& last() const { return *last_; }

 private:
  const CommittedEvent* first_ = nullptr;
  const CommittedEvent* last_ = nullptr;
  std::size_t count_ = 0;
};

void report_lost(const SubscriberHistory& s, const History& h, const OpOfMarker& op_of,
                 const std::vector<Received>& received, const LostRun& run, Report& report) {
  auto conn_name = [&](std::size_t c) {
    return "#" + std::to_string(c) + " (replica " + std::to_string(s.connections[c].replica) + ")";
  };
  // The events received just before the run's first and just after its last.
  auto after = std::upper_bound(received.begin(), received.end(), run.last().seq,
                                [](Seq v, const Received& r) { return v < r.seq; });
  auto first = std::lower_bound(received.begin(), received.end(), run.first().seq,
                                [](const Received& r, Seq v) { return r.seq < v; });
  const Received* before = first == received.begin() ? nullptr : &*(first - 1);
  std::string context;
  if (after == received.end()) {
    context = before
                  ? "after the last event it received (seq " + std::to_string(before->seq) +
                        " on connection " + conn_name(before->connection) + "): it never caught up"
                  : "it received nothing on these topics";
  } else if (before == nullptr) {
    context = "before its first event (seq " + std::to_string(after->seq) + " on connection " +
              conn_name(after->connection) + ")";
  } else if (before->connection == after->connection) {
    context = "on one connection " + conn_name(before->connection) + ", live, between seq " +
              std::to_string(before->seq) + " and " + std::to_string(after->seq) +
              ", with no control event";
  } else {
    context = "across reconnects from connection " + conn_name(before->connection) + " (seq " +
              std::to_string(before->seq) + ") to " + conn_name(after->connection) + " (seq " +
              std::to_string(after->seq) + "), with no control event";
  }
  std::string origin;
  if (auto it = op_of.find(run.first().marker); it != op_of.end()) {
    origin = ", published by " + describe_op(h.publishes[it->second]);
  }
  report.add("subscriber " + std::to_string(s.id) + ": lost",
             "subscriber " + std::to_string(s.id) + ": lost " + std::to_string(run.count()) +
                 " events seq " + std::to_string(run.first().seq) + ".." +
                 std::to_string(run.last().seq) + " on topic " + run.first().topic +
                 " (first marker " + format_marker(run.first().marker) + origin + ") " + context);
}

}  // namespace

SubscriberTally check_subscriber(const SubscriberHistory& s, const History& h, const Store& store,
                                 const OpOfMarker& op_of, Report& report, CheckResult& result) {
  SubscriberTally tally{.id = s.id, .connections = s.connections.size()};
  SubscriberWalk walk(s, store, report);
  const std::size_t delivered = result.deliveries_checked;
  walk.run(result);
  tally.received = result.deliveries_checked - delivered;
  if (!s.start) return tally;
  std::vector<Received> received = walk.received();
  std::sort(received.begin(), received.end(),
            [](const Received& a, const Received& b) { return a.seq < b.seq; });
  const std::vector<Range> excused = merge(walk.excused());
  auto is_received = [&](Seq seq) {
    return std::binary_search(received.begin(), received.end(), Received{seq, 0},
                              [](const Received& a, const Received& b) { return a.seq < b.seq; });
  };
  // Rows come in seq order: one pass over the disjoint ranges.
  std::size_t next_range = 0;
  auto is_excused = [&](Seq seq) {
    while (next_range < excused.size() && excused[next_range].hi < seq) ++next_range;
    return next_range < excused.size() && excused[next_range].lo <= seq;
  };
  const std::set<std::string> topics(s.topics.begin(), s.topics.end());
  // Losses are reported per topic, a run ending at the next event of that topic
  // received: a lost channel shows as one line, not as many.
  std::map<std::string, LostRun> runs;
  for (const auto* e : store.rows()) {
    if (e->seq <= *s.start || (s.end && e->seq > *s.end) || !topics.count(e->topic)) continue;
    ++tally.required;
    if (is_received(e->seq)) {
      LostRun& run = runs[e->topic];
      if (!run.empty()) report_lost(s, h, op_of, received, run, report);
      run = LostRun{};
    } else if (is_excused(e->seq)) {
      ++tally.excused;
    } else {
      ++tally.lost;
      runs[e->topic].add(*e);
    }
  }
  for (const auto& [topic, run] : runs) {
    if (!run.empty()) report_lost(s, h, op_of, received, run, report);
  }
  return tally;
}

}  // namespace ssehub::chaos
