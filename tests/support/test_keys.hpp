#pragma once
// Key pairs and JWT signing for tests (RS256, ES256) with OpenSSL.

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace ssehub::test {

class KeyPair {
 public:
  static KeyPair rsa2048();
  static KeyPair ec_p256();
  KeyPair(KeyPair&& o) noexcept : key_(o.key_) { o.key_ = nullptr; }
  KeyPair(const KeyPair&) = delete;
  ~KeyPair() { EVP_PKEY_free(key_); }

  std::string public_pem() const;
  // A compact JWT with header {"alg":alg,"typ":"JWT"}; ES256 signatures as r || s.
  std::string sign_jwt(const std::string& alg, std::string_view payload_json) const;

 private:
  explicit KeyPair(EVP_PKEY* k) : key_(k) {}
  std::string sign(std::string_view input) const;
  EVP_PKEY* key_ = nullptr;
};

}  // namespace ssehub::test
