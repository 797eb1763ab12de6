#include "history.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "history_checks.hpp"

namespace ssehub::chaos {
namespace {

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

}  // namespace

std::string describe_op(const PublishOp& op) {
  std::string s = op.source + " (" + outcome_name(op.outcome);
  if (op.status != 0) s += " " + std::to_string(op.status);
  if (!op.detail.empty()) s += ": " + op.detail;
  return s + ", " + std::to_string(op.events.size()) + " events)";
}

namespace {

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

}  // namespace ssehub::chaos
