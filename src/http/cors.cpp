#include "http/cors.hpp"

#include <algorithm>

namespace ssehub {

std::string CorsPolicy::headers(std::string_view origin) const {
  if (origin.empty()) return {};
  if (std::find(origins_.begin(), origins_.end(), origin) == origins_.end()) return {};
  return "Access-Control-Allow-Origin: " + std::string(origin) +
         "\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n";
}

}  // namespace ssehub
