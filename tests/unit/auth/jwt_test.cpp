#include "auth/jwt.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "test_keys.hpp"

namespace ssehub {
namespace {

using json = nlohmann::json;
constexpr std::int64_t kNow = 1800000000;
const std::string kSecret = "0123456789abcdef0123456789abcdef";

std::string claims(std::int64_t exp = kNow + 60, const json& extra = json::object()) {
  json c = {{"sub", "alice"},
            {"exp", exp},
            {"ssehub", {{"subscribe", {"user:alice", "news:*"}}, {"publish", {"user:*"}}}}};
  c.update(extra);
  return c.dump();
}

std::string reason(const std::variant<JwtClaims, JwtFailure>& r) {
  return std::holds_alternative<JwtFailure>(r) ? std::get<JwtFailure>(r).reason : "";
}

std::string token_with(std::string_view header, std::string_view payload, std::string_view sig) {
  return base64url_encode(header) + "." + base64url_encode(payload) + "." + base64url_encode(sig);
}

TEST(Base64Url, RoundTripsAndRejectsNonCanonical) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba",
                                                       "foobar", std::string("\0\xff", 2)}) {
    EXPECT_EQ(base64url_decode(base64url_encode(s)), s);
  }
  EXPECT_FALSE(base64url_decode("a"));
  EXPECT_FALSE(base64url_decode("ab+c"));
  EXPECT_FALSE(base64url_decode("Zh"));  // leftover bits not zero ("Zg" is "f")
}

TEST(Jwt, Hs256AcceptsAValidTokenAndReadsClaims) {
  auto v = JwtVerifier::with_secret(kSecret);
  auto r = v.verify(sign_hs256(claims(), kSecret), kNow);
  ASSERT_TRUE(std::holds_alternative<JwtClaims>(r)) << reason(r);
  auto& c = std::get<JwtClaims>(r);
  EXPECT_EQ(c.sub, "alice");
  EXPECT_EQ(c.exp, kNow + 60);
  EXPECT_EQ(c.subscribe, (std::vector<std::string>{"user:alice", "news:*"}));
  EXPECT_EQ(c.publish, std::vector<std::string>{"user:*"});
}

TEST(Jwt, RejectsEveryBadTokenKind) {
  auto v = JwtVerifier::with_secret(kSecret);
  v.issuer("https://issuer.example").audience("ssehub");
  json ok_extra = {{"iss", "https://issuer.example"}, {"aud", "ssehub"}};
  ASSERT_EQ(reason(v.verify(sign_hs256(claims(kNow + 60, ok_extra), kSecret), kNow)), "");
  EXPECT_EQ(reason(v.verify(
                sign_hs256(claims(kNow + 60, ok_extra), "another-secret-of-32-bytes!!!!!"), kNow)),
            "bad signature");
  EXPECT_EQ(
      reason(v.verify(token_with(R"({"alg":"none"})", claims(kNow + 60, ok_extra), ""), kNow)),
      "token algorithm must be HS256");
  EXPECT_EQ(reason(v.verify(sign_hs256(claims(kNow - 100, ok_extra), kSecret), kNow)),
            "token expired");
  EXPECT_EQ(reason(v.verify(sign_hs256(claims(kNow - 2, ok_extra), kSecret), kNow)), "");  // leeway
  json no_exp = {{"sub", "a"}, {"iss", "https://issuer.example"}, {"aud", "ssehub"}};
  EXPECT_EQ(reason(v.verify(sign_hs256(no_exp.dump(), kSecret), kNow)), "token has no exp");
  json future = ok_extra;
  future["nbf"] = kNow + 600;
  EXPECT_EQ(reason(v.verify(sign_hs256(claims(kNow + 900, future), kSecret), kNow)),
            "token is not valid yet (nbf)");
  EXPECT_EQ(
      reason(v.verify(sign_hs256(claims(kNow + 60, {{"iss", "evil"}, {"aud", "ssehub"}}), kSecret),
                      kNow)),
      "wrong issuer");
  EXPECT_EQ(
      reason(v.verify(
          sign_hs256(claims(kNow + 60, {{"iss", "https://issuer.example"}, {"aud", {"x", "y"}}}),
                     kSecret),
          kNow)),
      "wrong audience");
  EXPECT_EQ(reason(v.verify(sign_hs256(claims(kNow + 60, {{"iss", "https://issuer.example"},
                                                          {"aud", {"x", "ssehub"}}}),
                                       kSecret),
                            kNow)),
            "");
  for (const std::string& bad :
       std::vector<std::string>{"", "abc", "a.b", "a.b.c.d", "!!.??.**", std::string(9000, 'a')}) {
    EXPECT_NE(reason(v.verify(bad, kNow)), "") << bad;
  }
  EXPECT_EQ(reason(v.verify(token_with(R"({"alg":"HS256"})", "[1]", "x"), kNow)),
            "token parts are not JSON objects");
}

// exp and nbf arrive as any JSON number; one that no int64 holds (or a date past
// year 9999) is refused, never converted.
TEST(Jwt, ExpAndNbfOutOfRangeAreRefused) {
  auto v = JwtVerifier::with_secret(kSecret);
  // The payload is written by hand so each number reaches the parser as written.
  auto with = [&](const std::string& claim, const std::string& number) {
    std::string exp = claim == "exp" ? number : std::to_string(kNow + 60);
    std::string nbf = claim == "nbf" ? R"(,"nbf":)" + number : "";
    return reason(
        v.verify(sign_hs256(R"({"sub":"alice","exp":)" + exp + nbf + "}", kSecret), kNow));
  };
  for (const char* huge : {"1e300", "-1e300", "9.3e18", "-9.3e18", "1e18", "9223372036854775807",
                           "-9223372036854775808", "18446744073709551615", "253402300800"}) {
    EXPECT_EQ(with("exp", huge), "exp is out of range") << huge;
    EXPECT_EQ(with("nbf", huge), "nbf is out of range") << huge;
  }
  // The JSON parser refuses a number that overflows a double.
  EXPECT_EQ(with("exp", "1e400"), "token parts are not JSON objects");
  // A fractional NumericDate is allowed (RFC 7519) and rounded down.
  json frac = {{"sub", "alice"}, {"exp", kNow + 60.75}, {"nbf", kNow - 0.5}};
  auto r = v.verify(sign_hs256(frac.dump(), kSecret), kNow);
  ASSERT_TRUE(std::holds_alternative<JwtClaims>(r)) << reason(r);
  EXPECT_EQ(std::get<JwtClaims>(r).exp, kNow + 60);
  EXPECT_EQ(with("exp", "253402300799"), "");  // 9999-12-31T23:59:59Z
  EXPECT_EQ(with("exp", "true"), "token has no exp");
}

// stream.max_connections_per_subject counts streams by sub: a token without one
// would have no cap at all.
TEST(Jwt, TokenWithoutASubjectIsRefused) {
  auto v = JwtVerifier::with_secret(kSecret);
  auto sub_reason = [&](json c) {
    c["exp"] = kNow + 60;
    return reason(v.verify(sign_hs256(c.dump(), kSecret), kNow));
  };
  EXPECT_EQ(sub_reason(json::object()), "token has no sub");
  EXPECT_EQ(sub_reason({{"sub", ""}}), "token has no sub");
  EXPECT_EQ(sub_reason({{"sub", 42}}), "sub is not a string");
  EXPECT_EQ(sub_reason({{"sub", {"a"}}}), "sub is not a string");
  EXPECT_EQ(sub_reason({{"sub", nullptr}}), "sub is not a string");
  EXPECT_EQ(sub_reason({{"sub", "a"}}), "");
}

TEST(Jwt, ShortSecretIsRefused) {
  EXPECT_THROW(JwtVerifier::with_secret("short"), std::runtime_error);
}

using test::KeyPair;

std::string signed_token(const KeyPair& k, const std::string& alg, const std::string& payload) {
  return k.sign_jwt(alg, payload);
}

TEST(Jwt, Rs256AndEs256WithPublicKeys) {
  KeyPair rsa = KeyPair::rsa2048();
  KeyPair ec = KeyPair::ec_p256();
  auto rv = JwtVerifier::with_public_key_pem(rsa.public_pem());
  auto ev = JwtVerifier::with_public_key_pem(ec.public_pem());
  EXPECT_EQ(rv.algorithm(), "RS256");
  EXPECT_EQ(ev.algorithm(), "ES256");
  EXPECT_EQ(reason(rv.verify(signed_token(rsa, "RS256", claims()), kNow)), "");
  EXPECT_EQ(reason(ev.verify(signed_token(ec, "ES256", claims()), kNow)), "");
  // Wrong key, wrong algorithm for the key, tampered payload.
  KeyPair other = KeyPair::ec_p256();
  EXPECT_EQ(reason(ev.verify(signed_token(other, "ES256", claims()), kNow)), "bad signature");
  EXPECT_EQ(reason(rv.verify(signed_token(ec, "ES256", claims()), kNow)),
            "token algorithm must be RS256");
  std::string t = signed_token(rsa, "RS256", claims());
  auto dot = t.find('.');
  std::string tampered =
      t.substr(0, dot + 1) + base64url_encode(claims(kNow + 99999)) + t.substr(t.rfind('.'));
  EXPECT_EQ(reason(rv.verify(tampered, kNow)), "bad signature");
}

// The public key PEM of a fresh EC key on `curve` (an OpenSSL curve name).
std::string ec_public_pem(const char* curve) {
  EVP_PKEY* key = EVP_EC_gen(curve);
  if (!key) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

// ES256 is ECDSA on P-256 only: another 256-bit curve is not the same algorithm.
TEST(Jwt, EcKeysOnOtherCurvesAreRefused) {
  EXPECT_EQ(JwtVerifier::with_public_key_pem(ec_public_pem("prime256v1")).algorithm(), "ES256");
  for (const char* curve : {"secp256k1", "brainpoolP256r1", "brainpoolP256t1", "secp384r1"}) {
    std::string pem = ec_public_pem(curve);
    ASSERT_FALSE(pem.empty()) << curve;
    EXPECT_THROW(JwtVerifier::with_public_key_pem(pem), std::runtime_error) << curve;
  }
}

TEST(Jwt, Hs256SignedWithThePublicKeyTextIsRefused) {
  KeyPair rsa = KeyPair::rsa2048();
  std::string pem = rsa.public_pem();
  auto v = JwtVerifier::with_public_key_pem(pem);
  EXPECT_EQ(reason(v.verify(sign_hs256(claims(), pem), kNow)), "token algorithm must be RS256");
}

TEST(Duration, Parses) {
  EXPECT_EQ(parse_duration_seconds("90s"), 90);
  EXPECT_EQ(parse_duration_seconds("30m"), 1800);
  EXPECT_EQ(parse_duration_seconds("1h"), 3600);
  EXPECT_EQ(parse_duration_seconds("2d"), 172800);
  EXPECT_EQ(parse_duration_seconds("45"), 45);
  for (const char* bad : {"", "h", "0", "-1h", "1x", "1.5h", "99999999999d"}) {
    EXPECT_FALSE(parse_duration_seconds(bad)) << bad;
  }
}

}  // namespace
}  // namespace ssehub
