#include "store/postgres/pg_sql.hpp"

namespace ssehub::pg {

std::string text_array(const std::vector<std::string_view>& items) {
  std::size_t size = 2;
  for (auto s : items) size += s.size() + 3;
  std::string out;
  out.reserve(size);
  out += '{';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string with_param(const std::string& conninfo, const std::string& key,
                       const std::string& value) {
  if (conninfo.find(key + "=") != std::string::npos) return conninfo;
  bool url = conninfo.rfind("postgresql://", 0) == 0 || conninfo.rfind("postgres://", 0) == 0;
  if (!url) return conninfo + (conninfo.empty() ? "" : " ") + key + "=" + value;
  return conninfo + (conninfo.find('?') == std::string::npos ? "?" : "&") + key + "=" + value;
}

std::string with_connect_timeout(const std::string& conninfo, int seconds) {
  return with_param(conninfo, "connect_timeout", std::to_string(seconds));
}

std::string with_connection_defaults(const std::string& conninfo) {
  std::string out = with_connect_timeout(conninfo, 2);
  for (auto [key, value] : {std::pair{"keepalives", "1"},
                            {"keepalives_idle", "10"},
                            {"keepalives_interval", "5"},
                            {"keepalives_count", "3"},
                            {"tcp_user_timeout", "10000"}}) {
    out = with_param(out, key, value);
  }
  return out;
}

FailureReason classify_failure(std::string_view sqlstate, bool connection_lost,
                               bool deadline_passed) {
  if (deadline_passed || sqlstate == "57014") return FailureReason::timeout;
  if (connection_lost || sqlstate.substr(0, 2) == "08" || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03") {
    return FailureReason::unavailable;
  }
  return FailureReason::error;
}

// One round trip: take the next seqs, insert the batch, announce the new head. The
// meta row's lock (and the session advisory lock around the transaction) orders
// commits by seq.
const char* const kAppendSql = R"SQL(
WITH h AS (
  UPDATE ssehub_meta SET head_seq = head_seq + $1::bigint WHERE id = 1
  RETURNING head_seq - $1::bigint AS base, epoch),
ins AS (
  INSERT INTO ssehub_events (seq, topic, type, data)
  SELECT h.base + u.ord, u.topic, u.type, u.data::jsonb
  FROM h, unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(topic, type, data, ord)
  RETURNING 1)
SELECT h.base, h.epoch, (SELECT count(*) FROM ins),
       pg_notify('ssehub_events', (h.base + $1::bigint)::text)
FROM h)SQL";

// One statement, so one snapshot: the window (epoch, head, retention horizon) and at
// most $3 rows after $2 on the topics $1, read only when the requested id is
// replayable. Each topic is read through the (topic, seq) index with its own LIMIT.
const char* const kReplaySql = R"SQL(
SELECT m.epoch, m.head_seq, h.pruned_through, e.seq, e.topic, e.type, e.data::text
FROM ssehub_meta m CROSS JOIN ssehub_horizon h
LEFT JOIN LATERAL (
  SELECT x.seq, x.topic, x.type, x.data
  FROM unnest($1::text[]) AS t(topic)
  CROSS JOIN LATERAL (
    SELECT ev.seq, ev.topic, ev.type, ev.data FROM ssehub_events ev
    WHERE ev.topic = t.topic AND ev.seq > $2::bigint
    ORDER BY ev.seq LIMIT $3::bigint) x
  WHERE m.epoch = $4 AND $2::bigint >= h.pruned_through AND $2::bigint <= m.head_seq
  ORDER BY x.seq LIMIT $3::bigint) e ON true
WHERE m.id = 1 AND h.id = 1
ORDER BY e.seq)SQL";

const char* const kHeadSql = "SELECT epoch, head_seq FROM ssehub_meta WHERE id = 1";

// What followers read after a commit: the head and the retention horizon, and in
// the same snapshot the next rows after $1 in seq order, on every topic (one row
// of NULL event columns when there are none).
const char* const kFollowSql = R"SQL(
SELECT m.head_seq, h.pruned_through, e.seq, e.topic, e.type, e.data::text
FROM ssehub_meta m CROSS JOIN ssehub_horizon h
LEFT JOIN LATERAL (
  SELECT seq, topic, type, data FROM ssehub_events
  WHERE seq > $1::bigint ORDER BY seq LIMIT $2::bigint) e ON true
WHERE m.id = 1 AND h.id = 1
ORDER BY e.seq)SQL";

// The oldest rows, to find the prefix older than the retention horizon.
const char* const kOldestSql = R"SQL(
SELECT seq, created_at < now() - make_interval(hours => $1::int) FROM ssehub_events
ORDER BY seq LIMIT $2::bigint)SQL";

// Deletes a seq prefix and records it as the horizon, in one transaction, so a
// replay sees either both or neither.
const char* const kPruneSql = R"SQL(
WITH gone AS (DELETE FROM ssehub_events WHERE seq <= $1::bigint RETURNING 1)
UPDATE ssehub_horizon SET pruned_through = GREATEST(pruned_through, $1::bigint),
       pruned_at = now()
WHERE id = 1 RETURNING (SELECT count(*) FROM gone))SQL";

const char* const kMigrationV1 = R"SQL(
CREATE TABLE ssehub_meta (
  id smallint PRIMARY KEY CHECK (id = 1),
  epoch text NOT NULL,
  head_seq bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ssehub_horizon (
  id smallint PRIMARY KEY CHECK (id = 1),
  pruned_through bigint NOT NULL,
  pruned_at timestamptz);
CREATE TABLE ssehub_events (
  seq bigint PRIMARY KEY,
  topic text NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ssehub_events_topic_seq ON ssehub_events (topic, seq);
INSERT INTO ssehub_horizon (id, pruned_through) VALUES (1, 0);
)SQL";

}  // namespace ssehub::pg
