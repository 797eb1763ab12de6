#include "history.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace ssehub::chaos {
namespace {

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

std::string outcome_name(PublishOp::Outcome o) {
  switch (o) {
    case PublishOp::Outcome::ok:
      return "acknowledged";
    case PublishOp::Outcome::failed:
      return "refused";
    case PublishOp::Outcome::unknown:
      return "outcome unknown";
  }
  return "?";
}

std::string describe_op(const PublishOp& op) {
  std::string s = op.source + " (" + outcome_name(op.outcome);
  if (op.status != 0) s += " " + std::to_string(op.status);
  if (!op.detail.empty()) s += ": " + op.detail;
  return s + ", " + std::to_string(op.events.size()) + " events)";
}

// ---- the log itself ---------------------------------------------------------------

// Seqs are taken from ssehub_meta in commit order and given back on rollback: the log
// is 1..head with no hole and no seq twice.
void check_log(const History& h, const Store& store, Report& report) {
  const auto& rows = store.rows();
  Seq expected = 1;
  std::size_t holes = 0;
  std::string first_hole;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Seq seq = rows[i]->seq;
    if (i > 0 && rows[i - 1]->seq == seq) {
      report.add("log: seq twice", "log: seq " + std::to_string(seq) + " is stored twice");
      continue;
    }
    if (seq > expected) {
      holes += seq - expected;
      if (first_hole.empty()) {
        first_hole = std::to_string(expected) + ".." + std::to_string(seq - 1);
      }
    }
    expected = seq + 1;
  }
  if (holes > 0) {
    report.add("log: holes", "log: " + std::to_string(holes) +
                                 " seqs missing from ssehub_events (first " + first_hole + ")");
  }
  const Seq last = rows.empty() ? 0 : rows.back()->seq;
  if (last != h.head) {
    report.add("log: head", "log: ssehub_meta.head_seq is " + std::to_string(h.head) +
                                " but the last stored seq is " + std::to_string(last));
  }
}

// ---- publishes ----------------------------------------------------------------------

using OpOfMarker = std::unordered_map<Marker, std::size_t>;

OpOfMarker index_markers(const History& h, Report& report) {
  OpOfMarker op_of;
  for (std::size_t i = 0; i < h.publishes.size(); ++i) {
    for (const auto& e : h.publishes[i].events) {
      if (!op_of.emplace(e.marker, i).second) {
        report.add("harness: marker reused",
                   "harness: marker " + format_marker(e.marker) + " used by two publishes");
      }
    }
  }
  return op_of;
}

// Every committed event comes from exactly one publish, at most once.
void check_commits_have_publishes(const Store& store, const OpOfMarker& op_of, Report& report) {
  for (const auto* e : store.rows()) {
    const std::string at = "seq " + std::to_string(e->seq) + " (topic " + e->topic + ")";
    if (e->marker == 0) {
      report.add("commit: no marker", "commit: " + at + " has no readable marker");
      continue;
    }
    if (!op_of.count(e->marker)) {
      report.add("commit: phantom", "commit: " + at + " holds marker " + format_marker(e->marker) +
                                        " that no publish sent");
    }
    const auto& seqs = store.seqs_of(e->marker);
    if (seqs.size() > 1 && seqs.front() == e->seq) {
      std::string list;
      for (Seq s : seqs) list += (list.empty() ? "" : ",") + std::to_string(s);
      report.add("commit: stored twice", "commit: marker " + format_marker(e->marker) +
                                             " is stored " + std::to_string(seqs.size()) +
                                             " times (seqs " + list + ")");
    }
  }
}

void check_acknowledged(const PublishOp& op, const Store& store, Report& report) {
  if (op.ids.size() != op.events.size()) {
    report.add("publish: id count", "publish: " + describe_op(op) + " returned " +
                                        std::to_string(op.ids.size()) + " ids");
    return;
  }
  std::optional<Seq> first;
  for (std::size_t i = 0; i < op.ids.size(); ++i) {
    const auto& want = op.events[i];
    auto id = parse_id(op.ids[i]);
    if (!id || id->epoch != store.epoch()) {
      report.add("publish: bad id", "publish: " + describe_op(op) + " returned id '" + op.ids[i] +
                                        "' (store epoch " + store.epoch() + ")");
      continue;
    }
    if (!first) first = id->seq - i;
    if (id->seq != *first + i) {
      report.add("publish: ids not consecutive", "publish: " + describe_op(op) + " id " +
                                                     op.ids[i] + " at position " +
                                                     std::to_string(i) + " is not consecutive");
    }
    const CommittedEvent* got = store.at(id->seq);
    if (got == nullptr) {
      report.add("publish: acknowledged but lost",
                 "publish: " + describe_op(op) + " acknowledged id " + op.ids[i] + " (marker " +
                     format_marker(want.marker) + ") which is not in the store" +
                     (store.seqs_of(want.marker).empty()
                          ? ""
                          : " (the marker is at seq " +
                                std::to_string(store.seqs_of(want.marker).front()) + ")"));
    } else if (got->marker != want.marker || got->topic != want.topic) {
      report.add("publish: acknowledged id holds another event",
                 "publish: " + describe_op(op) + " acknowledged id " + op.ids[i] + " for marker " +
                     format_marker(want.marker) + " topic " + want.topic + ", but that seq holds " +
                     format_marker(got->marker) + " topic " + got->topic);
    }
  }
}

void check_publishes(const History& h, const Store& store, Report& report) {
  for (const auto& op : h.publishes) {
    std::size_t stored = 0;
    for (const auto& e : op.events) stored += store.seqs_of(e.marker).empty() ? 0 : 1;
    switch (op.outcome) {
      case PublishOp::Outcome::ok:
        check_acknowledged(op, store, report);
        break;
      case PublishOp::Outcome::failed:
        if (stored > 0) {
          report.add("publish: refused but written",
                     "publish: " + describe_op(op) + " was written anyway: " +
                         std::to_string(stored) + " of its events are in the store (first at seq " +
                         std::to_string(store.seqs_of(op.events.front().marker).empty()
                                            ? 0
                                            : store.seqs_of(op.events.front().marker).front()) +
                         ")");
        }
        break;
      case PublishOp::Outcome::unknown:
        // Committed together or not at all (one request is one transaction).
        if (stored != 0 && stored != op.events.size()) {
          report.add("publish: partly written",
                     "publish: " + describe_op(op) + ": only " + std::to_string(stored) + " of " +
                         std::to_string(op.events.size()) + " events are in the store");
        }
        break;
    }
  }
}

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

}  // namespace

std::string format_marker(Marker m) {
  return std::to_string(m >> 40) + "." + std::to_string(m & ((Marker{1} << 40) - 1));
}

std::optional<ParsedId> parse_id(const std::string& id) {
  const auto dash = id.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == id.size()) return std::nullopt;
  ParsedId out{id.substr(0, dash), 0};
  const char* first = id.data() + dash + 1;
  const char* last = id.data() + id.size();
  auto [p, ec] = std::from_chars(first, last, out.seq);
  if (ec != std::errc() || p != last) return std::nullopt;
  return out;
}

CheckResult check_delivery(const History& history) {
  CheckResult result;
  {
    Report report(result.violations, result.kinds);
    const Store store(history);
    check_log(history, store, report);
    const OpOfMarker op_of = index_markers(history, report);
    check_commits_have_publishes(store, op_of, report);
    check_publishes(history, store, report);
    for (const auto& s : history.subscribers) {
      const SubscriberTally t = check_subscriber(s, history, store, op_of, report, result);
      result.events_required += t.required;
      result.events_excused += t.excused;
      result.events_lost += t.lost;
      result.subscribers.push_back(t);
    }
  }
  return result;
}

// ---- freshness ----------------------------------------------------------------------

namespace {

struct StaleProbe {
  const ProbePublish* probe;
  std::optional<std::int64_t> got_ms;
};

// True when every sample of `replica` in [from, to] is 200, and there are enough.
bool ready_throughout(const std::vector<ReadinessSample>& samples, int replica, std::int64_t from,
                      std::int64_t to, std::size_t min_samples) {
  auto it = std::lower_bound(samples.begin(), samples.end(), from,
                             [](const ReadinessSample& s, std::int64_t t) { return s.at_ms < t; });
  std::size_t n = 0;
  for (; it != samples.end() && it->at_ms <= to; ++it) {
    if (it->replica != replica) continue;
    if (it->status != 200) return false;
    ++n;
  }
  return n >= min_samples;
}

// True when `s` was told, within the bound, of a gap that covers probe `p`.
bool told_of_gap(const ProbeStream& s, const ProbePublish& p, std::int64_t until) {
  for (const auto& n : s.notices) {
    if (n.at_ms > until) continue;
    if (n.resume ? *n.resume >= p.seq : n.at_ms >= p.sent_ms) return true;
  }
  return false;
}

void report_stale(const ProbeStream& s, std::size_t index, const std::vector<StaleProbe>& run,
                  std::int64_t bound_ms, Report& report) {
  const auto& first = run.front();
  std::string got = first.got_ms ? "the first arrived " +
                                       std::to_string(*first.got_ms - first.probe->acked_ms) +
                                       " ms after its 201"
                                 : "the first never arrived";
  report.add("freshness: replica " + std::to_string(s.replica),
             "freshness: replica " + std::to_string(s.replica) +
                 " answered /health/ready 200 throughout, but its probe stream #" +
                 std::to_string(index) + " got " + std::to_string(run.size()) + " probes (seq " +
                 std::to_string(first.probe->seq) + ".." + std::to_string(run.back().probe->seq) +
                 ", acknowledged t=" + std::to_string(first.probe->acked_ms) + ".." +
                 std::to_string(run.back().probe->acked_ms) + " ms) later than " +
                 std::to_string(bound_ms) + " ms or never; " + got);
}

void check_probes(const FreshnessHistory& h, Report& report, FreshnessResult& result) {
  std::vector<ReadinessSample> samples = h.readiness;
  std::sort(samples.begin(), samples.end(),
            [](const auto& a, const auto& b) { return a.at_ms < b.at_ms; });
  std::vector<const ProbePublish*> probes;
  for (const auto& p : h.probes) probes.push_back(&p);
  std::sort(probes.begin(), probes.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
  for (std::size_t i = 0; i < h.streams.size(); ++i) {
    const ProbeStream& s = h.streams[i];
    if (!s.ready_ms) continue;
    std::unordered_map<Seq, std::int64_t> got;
    for (const auto& r : s.received) got.emplace(r.seq, r.at_ms);
    std::vector<StaleProbe> run;
    for (const auto* p : probes) {
      const std::int64_t until = p->acked_ms + h.bound_ms;
      if (*s.ready_ms > p->sent_ms || s.end_ms < until) continue;
      if (!ready_throughout(samples, s.replica, p->sent_ms, until, h.min_samples)) continue;
      ++result.probes_checked;
      auto it = got.find(p->seq);
      if ((it != got.end() && it->second <= until) || told_of_gap(s, *p, until)) {
        if (!run.empty()) report_stale(s, i, run, h.bound_ms, report);
        run.clear();
        continue;
      }
      run.push_back({p, it == got.end() ? std::nullopt : std::optional(it->second)});
    }
    if (!run.empty()) report_stale(s, i, run, h.bound_ms, report);
  }
}

}  // namespace

FreshnessResult check_freshness(const FreshnessHistory& h) {
  FreshnessResult result;
  {
    Report report(result.violations, result.kinds);
    check_probes(h, report, result);
  }
  return result;
}

}  // namespace ssehub::chaos
