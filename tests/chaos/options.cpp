#include "options.hpp"

#include <cstdio>
#include <cstdlib>
#include <random>

namespace ssehub::chaos {

namespace {

[[noreturn]] void usage(const std::string& error) {
  std::fprintf(stderr,
               "ssehub_chaos: %s\nusage: ssehub_chaos [--seed S] [--seconds N] "
               "[--bus redis|pglog|mixed] [--replicas N] [--subscribers N] [--stale-ms MS] "
               "[--keep-logs] [--print-schedule]\n",
               error.c_str());
  std::exit(2);
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options o;
  bool seed_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    auto number = [&](long long lo, long long hi) {
      const std::string v = value();
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < lo || n > hi) usage("bad value for " + a + ": " + v);
      return n;
    };
    if (a == "--seed") {
      const std::string v = value();
      char* end = nullptr;
      o.seed = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0') usage("bad seed: " + v);
      seed_given = true;
    } else if (a == "--seconds") {
      o.seconds = static_cast<int>(number(5, 86400));
    } else if (a == "--bus") {
      o.bus_name = value();
      if (o.bus_name == "redis") {
        o.bus = BusMode::redis;
      } else if (o.bus_name == "pglog") {
        o.bus = BusMode::pglog;
      } else if (o.bus_name == "mixed") {
        o.bus = BusMode::mixed;
      } else {
        usage("--bus is redis, pglog or mixed");
      }
    } else if (a == "--replicas") {
      o.replicas = static_cast<int>(number(1, 16));
    } else if (a == "--subscribers") {
      o.subscribers = static_cast<int>(number(1, 64));
    } else if (a == "--stale-ms") {
      o.stale_ms = number(1000, 600000);
    } else if (a == "--keep-logs") {
      o.keep_logs = true;
    } else if (a == "--print-schedule") {
      o.print_schedule = true;
    } else {
      usage("unknown option " + a);
    }
  }
  if (!seed_given) o.seed = (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  return o;
}

}  // namespace ssehub::chaos
