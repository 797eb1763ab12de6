#pragma once
// server.cors_origins: which origins may read streams and publish from a browser.

#include <string>
#include <string_view>
#include <vector>

namespace ssehub {

class CorsPolicy {
 public:
  explicit CorsPolicy(std::vector<std::string> origins = {}) : origins_(std::move(origins)) {}

  // The response headers ("Name: value\r\n" lines) for an allowed origin, else empty.
  std::string headers(std::string_view origin) const;

 private:
  std::vector<std::string> origins_;
};

}  // namespace ssehub
