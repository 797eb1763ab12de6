#include "store_reader.hpp"

#include <pqxx/pqxx>

namespace ssehub::chaos {

std::string checker_conninfo(std::uint16_t port, const std::string& db,
                             const std::string& application_name) {
  return "host=127.0.0.1 port=" + std::to_string(port) + " dbname=" + db +
         " user=postgres connect_timeout=2 application_name=" + application_name +
         " options='-c statement_timeout=5000'";
}

std::optional<Seq> read_head(const std::string& conninfo) {
  try {
    pqxx::connection c(conninfo);
    pqxx::nontransaction n(c);
    return n.exec1("SELECT head_seq FROM ssehub_meta WHERE id = 1")[0].as<Seq>();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string read_epoch(const std::string& conninfo) {
  pqxx::connection c(conninfo);
  pqxx::nontransaction n(c);
  return n.exec1("SELECT epoch FROM ssehub_meta WHERE id = 1")[0].as<std::string>();
}

std::map<std::string, Seq> read_topic_heads(const std::string& conninfo) {
  pqxx::connection c(conninfo);
  pqxx::nontransaction n(c);
  std::map<std::string, Seq> out;
  for (const auto& row : n.exec("SELECT topic, max(seq) FROM ssehub_events GROUP BY topic")) {
    out[row[0].as<std::string>()] = row[1].as<Seq>();
  }
  return out;
}

void read_ground_truth(const std::string& conninfo, History& history) {
  pqxx::connection c(conninfo);
  pqxx::work w(c);
  w.exec("SET LOCAL statement_timeout = 120000");
  const auto meta = w.exec1("SELECT epoch, head_seq FROM ssehub_meta WHERE id = 1");
  history.epoch = meta[0].as<std::string>();
  history.head = meta[1].as<Seq>();
  // A marker that is not a number reads as 0 (the checker reports it).
  const auto rows = w.exec(
      "SELECT seq, topic, type, CASE WHEN jsonb_typeof(data->'m') = 'number' "
      "THEN (data->>'m')::numeric ELSE 0 END::text FROM ssehub_events ORDER BY seq");
  history.committed.clear();
  history.committed.reserve(rows.size());
  for (const auto& row : rows) {
    CommittedEvent e;
    e.seq = row[0].as<Seq>();
    e.topic = row[1].as<std::string>();
    e.type = row[2].as<std::string>();
    try {
      e.marker = std::stoull(row[3].as<std::string>());
    } catch (const std::exception&) {
      e.marker = 0;
    }
    history.committed.push_back(std::move(e));
  }
  w.commit();
}

}  // namespace ssehub::chaos
