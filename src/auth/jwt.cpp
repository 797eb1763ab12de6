#include "auth/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

namespace ssehub {
namespace {

using json = nlohmann::json;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string hmac_sha256(std::string_view data, std::string_view key) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// JOSE ES256 signatures are r || s (32 bytes each); OpenSSL verifies DER.
std::optional<std::string> es256_to_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

// The latest NumericDate accepted, 9999-12-31T23:59:59Z, and its negative the
// earliest. A date past it is nonsense, and within it `date + leeway` stays far
// from int64 overflow.
constexpr std::int64_t kMaxNumericDate = 253402300799;

// A NumericDate claim (RFC 7519: seconds, possibly fractional, rounded down here)
// from a JSON number; nullopt when outside +/-kMaxNumericDate. The range is checked
// before any conversion: casting an out-of-range double to int64 is undefined.
std::optional<std::int64_t> numeric_date(const json& j) {
  if (j.is_number_unsigned()) {
    auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(kMaxNumericDate)) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (j.is_number_integer()) {
    auto i = j.get<std::int64_t>();
    if (i < -kMaxNumericDate || i > kMaxNumericDate) return std::nullopt;
    return i;
  }
  double d = j.get<double>();
  constexpr auto kMax = static_cast<double>(kMaxNumericDate);
  if (!std::isfinite(d) || d < -kMax || d > kMax) return std::nullopt;
  return static_cast<std::int64_t>(std::floor(d));
}

// The name of an EC key's curve, empty when it has none (explicit parameters).
std::string ec_curve_name(const EVP_PKEY* pkey) {
  char name[80] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(pkey, name, sizeof name, &len) != 1) return {};
  return std::string(name, len);
}

// ES256 is ECDSA on P-256 (RFC 7518 3.4). Being 256 bits is not enough:
// secp256k1 and the brainpool curves are too, and a verifier must not accept a
// signature on a curve the token's issuer never meant.
bool is_p256(const std::string& curve) {
  int nid = OBJ_sn2nid(curve.c_str());
  if (nid == NID_undef) nid = EC_curve_nist2nid(curve.c_str());
  return nid == NID_X9_62_prime256v1;
}

std::vector<std::string> string_list(const json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (auto& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace

struct JwtVerifier::Key {
  std::string secret;
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  unsigned buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buf >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(buf << (6 - bits)) & 63];  // unpadded tail
  return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  unsigned buf = 0;
  int bits = 0;
  for (char c : in) {
    int v = decode_char(c);
    if (v < 0) return std::nullopt;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero (canonical encoding).
  if (bits > 0 && (buf & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::optional<std::int64_t> parse_duration_seconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t unit = 1;
  constexpr std::pair<char, std::int64_t> kUnits[] = {
      {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
  for (auto [suffix, seconds] : kUnits) {
    if (text.back() != suffix) continue;
    unit = seconds;
    text.remove_suffix(1);
    break;
  }
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n <= 0 ||
      n > 10LL * 365 * 86400 / unit) {
    return std::nullopt;
  }
  return n * unit;
}

std::string sign_hs256(std::string_view payload_json, std::string_view secret) {
  std::string signing_input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(payload_json);
  return signing_input + "." + base64url_encode(hmac_sha256(signing_input, secret));
}

JwtVerifier JwtVerifier::with_secret(std::string secret) {
  if (secret.size() < 16) throw std::runtime_error("an HS256 secret must be at least 16 bytes");
  JwtVerifier v;
  v.key_ = std::make_shared<Key>();
  v.key_->secret = std::move(secret);
  v.alg_ = "HS256";
  return v;
}

JwtVerifier JwtVerifier::with_public_key_pem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (!pkey) throw std::runtime_error("not a PEM public key");
  JwtVerifier v;
  v.key_ = std::make_shared<Key>();
  v.key_->pkey = pkey;
  if (EVP_PKEY_base_id(pkey) == EVP_PKEY_RSA) {
    if (EVP_PKEY_bits(pkey) < 2048) throw std::runtime_error("RSA keys must be 2048 bits or more");
    v.alg_ = "RS256";
  } else if (EVP_PKEY_base_id(pkey) == EVP_PKEY_EC) {
    std::string curve = ec_curve_name(pkey);
    if (!is_p256(curve)) {
      throw std::runtime_error("an EC key must be on curve P-256 (prime256v1) for ES256, not " +
                               (curve.empty() ? std::string("explicit curve parameters") : curve));
    }
    v.alg_ = "ES256";
  } else {
    throw std::runtime_error("the public key must be RSA (RS256) or EC P-256 (ES256)");
  }
  return v;
}

JwtVerifier& JwtVerifier::issuer(std::string iss) {
  issuer_ = std::move(iss);
  return *this;
}
JwtVerifier& JwtVerifier::audience(std::string aud) {
  audience_ = std::move(aud);
  return *this;
}
JwtVerifier& JwtVerifier::leeway_seconds(std::int64_t s) {
  leeway_ = s;
  return *this;
}

std::variant<JwtClaims, JwtFailure> JwtVerifier::verify(std::string_view token,
                                                        std::int64_t now) const {
  auto fail = [](std::string r) { return JwtFailure{std::move(r)}; };
  if (token.size() > 8192) return fail("token is too long");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return fail("token is not three base64url parts");
  }
  auto header_text = base64url_decode(token.substr(0, dot1));
  auto payload_text = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!header_text || !payload_text || !signature) return fail("token is not valid base64url");
  json header = json::parse(*header_text, nullptr, false);
  json payload = json::parse(*payload_text, nullptr, false);
  if (!header.is_object() || !payload.is_object()) return fail("token parts are not JSON objects");
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get<std::string>() != alg_) {
    return fail("token algorithm must be " + alg_);
  }
  std::string_view signing_input = token.substr(0, dot2);
  bool ok = false;
  if (alg_ == "HS256") {
    std::string expected = hmac_sha256(signing_input, key_->secret);
    ok = expected.size() == signature->size() &&
         CRYPTO_memcmp(expected.data(), signature->data(), expected.size()) == 0;
  } else {
    std::string sig = *signature;
    if (alg_ == "ES256") {
      auto der = es256_to_der(*signature);
      if (!der) return fail("bad signature");
      sig = std::move(*der);
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key_->pkey) == 1 &&
         EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()),
                          signing_input.size()) == 1;
    EVP_MD_CTX_free(ctx);
  }
  if (!ok) return fail("bad signature");

  JwtClaims claims;
  auto exp = payload.find("exp");
  if (exp == payload.end() || !exp->is_number()) return fail("token has no exp");
  auto exp_at = numeric_date(*exp);
  if (!exp_at) return fail("exp is out of range");
  claims.exp = *exp_at;
  if (now > claims.exp + leeway_) return fail("token expired");
  auto nbf = payload.find("nbf");
  if (nbf != payload.end()) {
    if (!nbf->is_number()) return fail("nbf is not a number");
    auto nbf_at = numeric_date(*nbf);
    if (!nbf_at) return fail("nbf is out of range");
    if (*nbf_at > now + leeway_) return fail("token is not valid yet (nbf)");
  }
  if (!issuer_.empty()) {
    auto iss = payload.find("iss");
    if (iss == payload.end() || !iss->is_string() || iss->get<std::string>() != issuer_) {
      return fail("wrong issuer");
    }
  }
  if (!audience_.empty()) {
    auto aud = payload.find("aud");
    bool match = false;
    if (aud != payload.end() && aud->is_string()) match = aud->get<std::string>() == audience_;
    if (aud != payload.end() && aud->is_array()) {
      for (auto& a : *aud) match = match || (a.is_string() && a.get<std::string>() == audience_);
    }
    if (!match) return fail("wrong audience");
  }
  // stream.max_connections_per_subject counts streams by sub: a token without one
  // would escape the cap, so sub is required.
  auto sub = payload.find("sub");
  if (sub == payload.end() || (sub->is_string() && sub->get_ref<const std::string&>().empty())) {
    return fail("token has no sub");
  }
  if (!sub->is_string()) return fail("sub is not a string");
  claims.sub = sub->get<std::string>();
  auto grants = payload.find("ssehub");
  if (grants != payload.end() && grants->is_object()) {
    if (auto s = grants->find("subscribe"); s != grants->end()) claims.subscribe = string_list(*s);
    if (auto p = grants->find("publish"); p != grants->end()) claims.publish = string_list(*p);
  }
  return claims;
}

}  // namespace ssehub
