// Configuration: any file content and any environment either applies or throws
// ConfigError, never anything else.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  ssehub::Config c;
  try {
    ssehub::apply_json(c, in);
    ssehub::validate(c);
  } catch (const ssehub::ConfigError&) {
  }
  // The same bytes as NAME=VALUE lines of an environment.
  ssehub::Environment env;
  std::size_t start = 0;
  while (start < in.size()) {
    auto end = in.find('\n', start);
    std::string line = in.substr(start, end == std::string::npos ? std::string::npos : end - start);
    auto eq = line.find('=');
    if (eq != std::string::npos) env["SSEHUB_" + line.substr(0, eq)] = line.substr(eq + 1);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  try {
    ssehub::Config e;
    ssehub::apply_environment(e, env);
    ssehub::validate(e);
  } catch (const ssehub::ConfigError&) {
  }
  return 0;
}
