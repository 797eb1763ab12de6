#include "auth/dev_token.hpp"

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "auth/jwt.hpp"
#include "platform/clock.hpp"

namespace ssehub {

bool print_dev_token(const AuthConfig& auth, const std::string& sub,
                     const std::vector<std::string>& subscribe,
                     const std::vector<std::string>& publish, const std::string& ttl) {
  if (auth.jwt_secret.size() < 16) {
    std::cerr << "ssehub token: auth.jwt_secret (SSEHUB_AUTH_JWT_SECRET) must be set, 16 bytes "
                 "or more\n";
    return false;
  }
  auto seconds = parse_duration_seconds(ttl);
  if (!seconds) {
    std::cerr << "ssehub token: --ttl must look like 90s, 30m, 1h or 2d\n";
    return false;
  }
  auto now = unix_seconds();
  nlohmann::json claims = {{"sub", sub},
                           {"iat", now},
                           {"exp", now + *seconds},
                           {"ssehub", {{"subscribe", subscribe}, {"publish", publish}}}};
  if (!auth.issuer.empty()) claims["iss"] = auth.issuer;
  if (!auth.audience.empty()) claims["aud"] = auth.audience;
  std::cout << sign_hs256(claims.dump(), auth.jwt_secret) << "\n";
  return true;
}

}  // namespace ssehub
