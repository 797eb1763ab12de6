#pragma once
// The Postgres store's SQL and the pure helpers around it: array literals for
// batched statements, connection options, and how an error maps to what a client
// is told. No I/O.

#include <string>
#include <string_view>
#include <vector>

#include "core/replay_decision.hpp"

namespace ssehub::pg {

// Advisory lock keys (one 64-bit space per database): schema migration, the
// ordered publish section, and the retention job.
inline constexpr long long kMigrateLock = 0x55E40001;
inline constexpr long long kPublishLock = 0x55E40002;
inline constexpr long long kRetentionLock = 0x55E40003;

// idle_session_timeout (below) came with PostgreSQL 14.
inline constexpr int kMinServerVersion = 140000;

// Enter the ordered publish section: $1 the lock key, $2 how long to wait for it
// (ms), $3 how long the session may then sit idle holding it (ms). While it holds
// the lock, Postgres ends the session after $3 ms idle, in a transaction or not
// (PostgreSQL 14+), so a replica frozen there releases it. The target list runs
// left to right; a lock wait that times out (55P03) rolls every setting back.
inline constexpr const char* kPublishLockSql =
    "SELECT set_config('lock_timeout', $2, false), pg_advisory_lock($1::bigint), "
    "set_config('lock_timeout', '0', false), set_config('idle_session_timeout', $3, false), "
    "set_config('idle_in_transaction_session_timeout', $3, false)";
inline constexpr const char* kPublishUnlockSql =
    "SELECT pg_advisory_unlock($1::bigint), set_config('idle_session_timeout', '0', false), "
    "set_config('idle_in_transaction_session_timeout', '0', false)";
// Ends the sessions that hold the publish lock ($1) while stuck half-way through
// receiving a statement from their client for more than $2 ms: a replica frozen
// while it sent one. No idle timeout covers that state; a live client finishes a
// message in far less. (Idle holders are ended by their own idle timeouts.)
inline constexpr const char* kBreakPublishLockSql =
    "SELECT count(pg_terminate_backend(a.pid)) FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint "
    "AND a.pid <> pg_backend_pid() "
    "AND a.state = 'active' AND a.wait_event = 'ClientRead' "
    "AND a.state_change < clock_timestamp() - make_interval(secs => $2::double precision / 1000)";

// The NOTIFY channel a commit announces its new head on.
inline constexpr std::string_view kNotifyChannel = "ssehub_events";

// Schema version this build migrates to.
inline constexpr int kSchemaVersion = 1;

// A text[] literal: every element double-quoted, '"' and '\' escaped.
std::string text_array(const std::vector<std::string_view>& items);

// The URL or key=value string with connect_timeout added when it has none, so a
// connection attempt to an unresponsive server ends.
std::string with_connect_timeout(const std::string& conninfo, int seconds);
// `key`=`value` added to the URL or key=value string unless it sets `key` already.
std::string with_param(const std::string& conninfo, const std::string& key,
                       const std::string& value);
// What every ssehub connection uses unless the URL says otherwise: a connect
// timeout, and TCP keepalives plus tcp_user_timeout, so a peer that vanished or
// froze (a replica holding the publish lock, a server whose host died) is
// detected in seconds instead of the kernel's hours.
std::string with_connection_defaults(const std::string& conninfo);

// What a failed call means for the client: SQLSTATE class 08 (connection), 57P01-03
// (shutdown, cannot connect now) and a broken connection are `unavailable`; 57014
// (statement timeout) or an interrupted call past its deadline is `timeout`;
// anything else `error`.
FailureReason classify_failure(std::string_view sqlstate, bool connection_lost,
                               bool deadline_passed);

// Statements (parameters are typed in the text).
extern const char* const kAppendSql;
extern const char* const kReplaySql;
extern const char* const kHeadSql;
extern const char* const kFollowSql;
extern const char* const kOldestSql;
extern const char* const kPruneSql;
extern const char* const kMigrationV1;

}  // namespace ssehub::pg
