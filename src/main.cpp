// ssehub: wiring only. Configuration, logging, then the server.
#include <CLI/CLI.hpp>
#include <iostream>
#include <spdlog/spdlog.h>

#include "ssehub/config.hpp"
#include "ssehub/logging.hpp"
#include "ssehub/server.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ssehub: a Server-Sent Events daemon"};
  std::string config_path;
  bool show_version = false;
  app.add_option("-c,--config", config_path, "JSON configuration file");
  app.add_flag("-v,--version", show_version, "print the version and exit");
  app.footer("Configuration keys (JSON file section.key; every key also from the environment):\n" +
             ssehub::describe_keys());
  CLI11_PARSE(app, argc, argv);
  if (show_version) {
    std::cout << "ssehub " << ssehub::kVersion << "\n";
    return 0;
  }
  try {
    ssehub::Config config = ssehub::load_config(config_path, ssehub::process_environment());
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
