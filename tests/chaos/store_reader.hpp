#pragma once
// Reads the store's tables directly (libpqxx): the head a subscriber anchors on, the
// per-topic heads the drain waits for, and the ground truth the checker judges by.
// Every call opens its own short-lived connection with bounded connect and statement
// times, named "chaos-checker" so that the nemesis never picks it.

#include <map>
#include <optional>
#include <string>

#include "history.hpp"

namespace ssehub::chaos {

// "host=127.0.0.1 port=P dbname=D user=postgres ..." with the bounds and the name.
std::string checker_conninfo(std::uint16_t port, const std::string& db,
                             const std::string& application_name = "chaos-checker");

// ssehub_meta.head_seq; nullopt when the database does not answer in time.
std::optional<Seq> read_head(const std::string& conninfo);
// ssehub_meta.epoch; throws on failure.
std::string read_epoch(const std::string& conninfo);
// The highest seq of each topic; throws on failure.
std::map<std::string, Seq> read_topic_heads(const std::string& conninfo);
// Fills history.epoch, head and committed from the tables; throws on failure.
void read_ground_truth(const std::string& conninfo, History& history);

}  // namespace ssehub::chaos
