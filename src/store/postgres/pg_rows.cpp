#include "store/postgres/pg_rows.hpp"

#include <stdexcept>

#include "core/event_id.hpp"

namespace ssehub::pg {

std::vector<Event> events_from_rows(const pqxx::result& rows, int first, std::string_view epoch) {
  std::vector<Event> events;
  events.reserve(rows.size());
  for (const auto& row : rows) {
    if (row[first].is_null()) continue;
    Event ev;
    ev.seq = row[first].as<std::uint64_t>();
    ev.id = format_event_id(epoch, ev.seq);
    ev.topic = row[first + 1].as<std::string>();
    ev.type = row[first + 2].as<std::string>();
    ev.data = row[first + 3].as<std::string>();
    events.push_back(std::move(ev));
  }
  return events;
}

std::size_t event_row_count(const pqxx::result& rows, int first) {
  std::size_t n = 0;
  for (const auto& row : rows) n += row[first].is_null() ? 0 : 1;
  return n;
}

StoreWindow replay_window(const pqxx::result& rows) {
  if (rows.empty()) throw std::runtime_error("the ssehub_meta row is missing");
  StoreWindow w;
  w.epoch = rows[0][0].as<std::string>();
  w.head_seq = rows[0][1].as<std::uint64_t>();
  w.pruned_through = rows[0][2].as<std::uint64_t>();
  return w;
}

}  // namespace ssehub::pg
