#pragma once
// The Postgres store's SQL and the pure helpers around it: array literals for
// batched statements, connection options, and how an error maps to what a client
// is told. No I/O.

#include <string>
#include <string_view>
#include <vector>

#include "ssehub/replay_decision.hpp"

namespace ssehub::pg {

// Advisory lock keys (one 64-bit space per database): schema migration, the
// ordered publish section, and the retention job.
inline constexpr long long kMigrateLock = 0x55E40001;
inline constexpr long long kPublishLock = 0x55E40002;
inline constexpr long long kRetentionLock = 0x55E40003;

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
