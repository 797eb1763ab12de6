#pragma once
// JWT verification (RFC 7519) for ssehub's claims. Pure apart from OpenSSL: no
// sockets, no clock (the caller passes `now`).
//
// The algorithm is fixed by the configured key, never by the token: a secret
// accepts only HS256, an RSA public key only RS256, a P-256 key only ES256. So a
// token signed with HS256 using the public key's text as the secret is refused.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ssehub {

struct JwtClaims {
  std::string sub;                     // never empty: a token without one is refused
  std::int64_t exp = 0;                // unix seconds, at most 9999-12-31T23:59:59Z
  std::vector<std::string> subscribe;  // topic patterns (exact or ending in '*')
  std::vector<std::string> publish;
};

struct JwtFailure {
  std::string reason;  // for the 401 detail and the log; never contains the token
};

class JwtVerifier {
 public:
  // Throws std::runtime_error when the key cannot be used.
  static JwtVerifier with_secret(std::string secret);
  static JwtVerifier with_public_key_pem(const std::string& pem);

  JwtVerifier& issuer(std::string iss);
  JwtVerifier& audience(std::string aud);
  JwtVerifier& leeway_seconds(std::int64_t s);

  std::variant<JwtClaims, JwtFailure> verify(std::string_view token, std::int64_t now) const;

  const std::string& algorithm() const { return alg_; }

 private:
  struct Key;
  std::shared_ptr<Key> key_;
  std::string alg_;
  std::string issuer_;
  std::string audience_;
  std::int64_t leeway_ = 5;
};

// HS256-signs `payload_json` (for `ssehub token` and tests).
std::string sign_hs256(std::string_view payload_json, std::string_view secret);

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

// "90s", "30m", "1h", "2d" or plain seconds; nullopt when malformed or zero.
std::optional<std::int64_t> parse_duration_seconds(std::string_view text);

}  // namespace ssehub
