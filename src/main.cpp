// ssehub: wiring only. Configuration, logging, then the server.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "auth/dev_token.hpp"
#include "core/config.hpp"
#include "observability/logging.hpp"
#include "server.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ssehub: a Server-Sent Events daemon"};
  std::string config_path;
  bool show_version = false;
  app.add_option("-c,--config", config_path, "JSON configuration file");
  app.add_flag("-v,--version", show_version, "print the version and exit");
  // `ssehub token`: a dev token signed with the configured HS256 secret.
  auto* token = app.add_subcommand("token", "print an HS256 token signed with auth.jwt_secret");
  std::string sub, ttl = "1h";
  std::vector<std::string> subscribe, publish;
  token->add_option("--sub", sub, "subject (sub claim)")->required();
  token->add_option("--subscribe", subscribe, "topic pattern it may subscribe to (repeatable)");
  token->add_option("--publish", publish, "topic pattern it may publish to (repeatable)");
  token->add_option("--ttl", ttl, "lifetime: 90s, 30m, 1h, 2d (default 1h)");
  app.footer("Configuration keys (JSON file section.key; every key also from the environment):\n" +
             ssehub::describe_keys());
  CLI11_PARSE(app, argc, argv);
  if (show_version) {
    std::cout << "ssehub " << ssehub::kVersion << "\n";
    return 0;
  }
  try {
    ssehub::Config config = ssehub::load_config(config_path, ssehub::process_environment());
    if (*token) {
      return ssehub::print_dev_token(config.auth, sub, subscribe, publish, ttl) ? 0 : 2;
    }
    // A peer that closed its end (Redis, Postgres, a client) must fail the write
    // that finds out, not end the process: hiredis and libpq write without
    // MSG_NOSIGNAL.
    std::signal(SIGPIPE, SIG_IGN);
    ssehub::setup_logging(config.log);
    ssehub::Server server(std::move(config));
    return server.run();
  } catch (const ssehub::ConfigError& e) {
    std::cerr << "ssehub: invalid configuration: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ssehub: fatal: " << e.what() << "\n";
    return 1;
  }
}
