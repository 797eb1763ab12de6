#pragma once
// The command line of ssehub_chaos.

#include <cstdint>
#include <string>

#include "schedule.hpp"

namespace ssehub::chaos {

struct Options {
  std::uint64_t seed = 0;  // random when not given
  int seconds = 60;
  BusMode bus = BusMode::redis;
  std::string bus_name = "redis";
  int replicas = 3;
  int subscribers = 8;
  std::int64_t stale_ms = 6000;  // the freshness bound
  bool keep_logs = false;
  bool print_schedule = false;  // print the fault schedule and exit
};

// Exits with status 2 and the usage on a bad argument.
Options parse_options(int argc, char** argv);

}  // namespace ssehub::chaos
