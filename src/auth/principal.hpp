#pragma once
// Who is asking, and the check that turns a request's token into that answer.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "auth/jwt.hpp"
#include "http/request_parsing.hpp"

namespace ssehub {

// With auth.mode none everything is allowed and there is no subject.
struct Principal {
  bool anonymous = true;
  std::string subject;          // the token's sub; empty only when anonymous
  std::int64_t expires_at = 0;  // unix seconds; 0 = never
  std::vector<std::string> subscribe;
  std::vector<std::string> publish;

  // nullopt when every topic is allowed, else the first one that is not.
  std::optional<std::string> denied_subscribe(const std::vector<std::string>& topics) const;
  std::optional<std::string> denied_publish(const std::vector<std::string>& topics) const;
};

class Authenticator {
 public:
  Authenticator() = default;  // auth.mode none
  explicit Authenticator(JwtVerifier verifier) : verifier_(std::move(verifier)) {}

  // Whether tokens are checked (and so expire).
  bool verifies() const { return verifier_.has_value(); }
  // 401 when a token is needed and missing or invalid.
  std::variant<Principal, ApiError> authenticate(const std::optional<std::string>& token) const;

 private:
  std::optional<JwtVerifier> verifier_;
};

}  // namespace ssehub
