#pragma once
// The record of a chaos run and the checker that judges it afterwards (Jepsen style:
// record everything, then check the whole history against the delivery model).
//
// Pure: no sockets, no threads, no clocks. The run fills a History while it goes;
// check_delivery() and check_freshness() read it once everything has stopped.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ssehub::chaos {

using Seq = std::uint64_t;
// Unique per published event, carried in its data as "m": (source << 40) | counter.
using Marker = std::uint64_t;

// "3.17" for source 3, counter 17: how markers read in violations.
std::string format_marker(Marker m);
// "<epoch>-<seq>" split; nullopt when malformed.
struct ParsedId {
  std::string epoch;
  Seq seq = 0;
};
std::optional<ParsedId> parse_id(const std::string& id);

// One item a subscriber read from a stream (heartbeats are not recorded).
struct Delivery {
  enum class Kind {
    event,      // an event with an id
    ready,      // `ready`
    truncated,  // `replay-truncated`; id = the resume point
    failed,     // `replay-failed`
    other,      // anything else (an event without id, an unknown control event)
  };
  Kind kind = Kind::event;
  std::string id;      // event and truncated: the `id:` field
  std::string type;    // the `event:` field
  std::string topic;   // event: the topic named in its data ("t")
  Marker marker = 0;   // event: the marker in its data ("m"); 0 when unreadable
  std::string reason;  // truncated and failed: the "reason" in their data
};

// One stream a subscriber opened: to which replica, with which Last-Event-ID, what came.
struct Connection {
  int replica = -1;
  std::string last_event_id;  // sent; "" for none
  int status = 0;             // HTTP status of the response head; 0: no response
  std::vector<Delivery> items;
  std::string end;  // why it ended: "closed by server", "client reconnect", ...
  std::int64_t opened_ms = 0;
};

// A logical subscriber: the same topics across all its connections.
struct SubscriberHistory {
  int id = 0;
  std::vector<std::string> topics;
  // The store head read right after its first `ready`: every committed event on its
  // topics above it must be received or declared missing. Unset: nothing required.
  std::optional<Seq> start;
  // Events above this are not required (a history cut before the end). Unset: all are.
  std::optional<Seq> end;
  std::vector<Connection> connections;
};

// A row of `ssehub_events` read after the run.
struct CommittedEvent {
  Seq seq = 0;
  std::string topic;
  std::string type;
  Marker marker = 0;  // 0 when its data had no readable marker
};

// One publish: a POST /publish request or a transaction written in SQL.
struct PublishOp {
  enum class Outcome {
    ok,       // 201 with ids / COMMIT returned
    failed,   // definitely not written: 4xx / rolled back / failed before COMMIT
    unknown,  // 503, timeout, connection error, error during COMMIT
  };
  std::string source;  // for messages: "http p1 -> replica 2", "sql"
  struct Item {
    std::string topic;
    Marker marker = 0;
  };
  std::vector<Item> events;
  Outcome outcome = Outcome::unknown;
  int status = 0;                // HTTP status, 0 for none / SQL
  std::string detail;            // error text for failed / unknown
  std::vector<std::string> ids;  // ok: the ids given back, in request order
};

struct History {
  std::string epoch;                      // the store's epoch (ssehub_meta)
  Seq head = 0;                           // ssehub_meta.head_seq after the run
  std::vector<CommittedEvent> committed;  // every row, any order
  std::vector<PublishOp> publishes;
  std::vector<SubscriberHistory> subscribers;
};

// Violations counted by rule, numbers replaced by N ("subscriber N: lost").
using KindCounts = std::map<std::string, std::size_t>;

// What one subscriber was owed and got.
struct SubscriberTally {
  int id = 0;
  std::size_t connections = 0;
  std::size_t received = 0;  // events
  std::size_t required = 0;
  std::size_t excused = 0;
  std::size_t lost = 0;
};

struct CheckResult {
  std::vector<std::string> violations;
  KindCounts kinds;
  std::size_t deliveries_checked = 0;  // events received by subscribers
  std::size_t events_required = 0;     // (subscriber, committed event) pairs that had to arrive
  std::size_t events_excused = 0;      // of those, declared missing by a control event
  std::size_t events_lost = 0;         // of those, neither received nor declared
  // Control events received, by name and reason ("replay-truncated limit").
  std::map<std::string, std::size_t> control_events;
  std::vector<SubscriberTally> subscribers;
};

// Every rule of the delivery model; see history.cpp for each.
CheckResult check_delivery(const History& history);

// ---- freshness: a replica that says it is ready must be delivering -------------

struct ProbePublish {
  Seq seq = 0;
  std::int64_t sent_ms = 0;   // request started
  std::int64_t acked_ms = 0;  // 201 received
};

struct ReadinessSample {
  int replica = 0;
  std::int64_t at_ms = 0;  // response received (or given up)
  int status = 0;          // 0: no answer in time
};

// A stream on the probe topic, held to one replica.
struct ProbeStream {
  int replica = 0;
  std::optional<std::int64_t> ready_ms;  // `ready` arrived
  std::int64_t end_ms = 0;               // stream ended (or the run did)
  struct Receipt {
    Seq seq = 0;
    std::int64_t at_ms = 0;
  };
  std::vector<Receipt> received;
  // Control events: the stream was told of a gap. `replay-truncated` carries the
  // resume seq (every probe at or below it is excused once the notice arrived);
  // `replay-failed` carries none (probes sent before it are excused).
  struct Notice {
    std::optional<Seq> resume;  // empty for replay-failed
    std::int64_t at_ms = 0;
  };
  std::vector<Notice> notices;
};

struct FreshnessHistory {
  std::int64_t bound_ms = 6000;  // a probe must arrive this long after its 201 at most
  std::size_t min_samples = 4;   // readiness samples needed to call a replica ready
  std::vector<ProbePublish> probes;
  std::vector<ReadinessSample> readiness;
  std::vector<ProbeStream> streams;
};

struct FreshnessResult {
  std::vector<std::string> violations;
  KindCounts kinds;
  std::size_t probes_checked = 0;  // (probe, stream) pairs where the rule applied
};

// A probe acknowledged while a stream was subscribed must reach that stream within
// bound_ms whenever its replica answered /health/ready 200 throughout that window,
// unless the stream was told of the gap (a notice covering the probe, in time).
FreshnessResult check_freshness(const FreshnessHistory& history);

}  // namespace ssehub::chaos
