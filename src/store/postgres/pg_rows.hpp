#pragma once
// Reading events out of query results. The replay and follow statements (pg_sql.hpp)
// both end in the columns seq, topic, type, data, which are NULL on the one row a
// window with no events returns; the replay statement starts with the window.

#include <pqxx/pqxx>

#include <string_view>
#include <vector>

#include "core/event.hpp"
#include "core/replay_decision.hpp"

namespace ssehub::pg {

// Where the event columns start in kReplaySql's and kFollowSql's rows.
inline constexpr int kReplayEventColumn = 3;
inline constexpr int kFollowEventColumn = 2;

// The events in `rows` (event columns from `first`), with ids in `epoch`.
std::vector<Event> events_from_rows(const pqxx::result& rows, int first, std::string_view epoch);
// How many rows of `rows` carry an event.
std::size_t event_row_count(const pqxx::result& rows, int first);
// The window in the first row of a kReplaySql result. Throws when there is none.
StoreWindow replay_window(const pqxx::result& rows);

}  // namespace ssehub::pg
