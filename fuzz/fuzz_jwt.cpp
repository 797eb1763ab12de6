// JWT parsing and verification on arbitrary tokens; base64url round trips.
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/jwt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto verifier = ssehub::JwtVerifier::with_secret("fuzzing-secret-0123456789");
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = verifier.verify(in, 1800000000);
  if (auto* f = std::get_if<ssehub::JwtFailure>(&r)) {
    // The reason goes into logs and 401 bodies: it is one of a fixed set, so it
    // can never carry any part of the token.
    static const char* kReasons[] = {"token is too long",
                                     "token is not three base64url parts",
                                     "token is not valid base64url",
                                     "token parts are not JSON objects",
                                     "token algorithm must be HS256",
                                     "bad signature",
                                     "token has no exp",
                                     "exp is out of range",
                                     "nbf is out of range",
                                     "token has no sub",
                                     "sub is not a string",
                                     "token expired",
                                     "nbf is not a number",
                                     "token is not valid yet (nbf)",
                                     "wrong issuer",
                                     "wrong audience"};
    bool known = false;
    for (const char* k : kReasons) known = known || f->reason == k;
    if (!known) __builtin_trap();
  }
  if (ssehub::base64url_decode(ssehub::base64url_encode(in)) != std::string(in)) __builtin_trap();
  (void)ssehub::base64url_decode(in);
  (void)ssehub::parse_duration_seconds(in);
  return 0;
}
