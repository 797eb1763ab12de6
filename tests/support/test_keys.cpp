#include "test_keys.hpp"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>

#include "auth/jwt.hpp"

namespace ssehub::test {
namespace {

// JOSE wants r || s for ES256; OpenSSL signs DER.
std::string der_to_jose(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  std::string out(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(out.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(out.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return out;
}

}  // namespace

KeyPair KeyPair::rsa2048() {
  return KeyPair(EVP_RSA_gen(2048));
}
KeyPair KeyPair::ec_p256() {
  return KeyPair(EVP_EC_gen("P-256"));
}

std::string KeyPair::public_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key_);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string KeyPair::sign(std::string_view input) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_);
  std::size_t len = 0;
  auto* in = reinterpret_cast<const unsigned char*>(input.data());
  EVP_DigestSign(ctx, nullptr, &len, in, input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

std::string KeyPair::sign_jwt(const std::string& alg, std::string_view payload_json) const {
  std::string input = base64url_encode(R"({"alg":")" + alg + R"(","typ":"JWT"})") + "." +
                      base64url_encode(payload_json);
  std::string sig = sign(input);
  if (alg == "ES256") sig = der_to_jose(sig);
  return input + "." + base64url_encode(sig);
}

}  // namespace ssehub::test
