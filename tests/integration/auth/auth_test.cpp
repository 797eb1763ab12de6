// auth.mode jwt against the real daemon: tokens, topic authorization, expiry and
// the per-subject cap.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth/jwt.hpp"
#include "test_support.hpp"

namespace ssehub::test {
namespace {

using json = nlohmann::json;
const std::string kSecret = "integration-secret-0123456789";

std::string token(const std::string& sub, const std::string& subscribe, const std::string& publish,
                  const std::string& ttl = "1h") {
  std::string out;
  std::vector<std::string> args = {"token", "--sub", sub, "--ttl", ttl};
  if (!subscribe.empty()) args.insert(args.end(), {"--subscribe", subscribe});
  if (!publish.empty()) args.insert(args.end(), {"--publish", publish});
  EXPECT_EQ(run_binary(args, {{"SSEHUB_AUTH_JWT_SECRET", kSecret}}, out), 0) << out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

Env jwt_env(Env extra = {}) {
  extra["SSEHUB_AUTH_MODE"] = "jwt";
  extra["SSEHUB_AUTH_JWT_SECRET"] = kSecret;
  return extra;
}

TEST(Auth, TokensFromHeaderQueryOrCookieAndTopicRules) {
  Daemon d(jwt_env());
  std::string alice = token("alice", "user:alice", "user:*");

  EXPECT_EQ(http(d.port(), "GET", "/events?topic=user:alice").status, 401);
  auto bad =
      http(d.port(), "GET", "/events?topic=user:alice", "", {{"Authorization", "Bearer x.y.z"}});
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(json::parse(bad.body)["error"], "unauthorized");
  EXPECT_EQ(bad.headers["www-authenticate"], "Bearer");

  SseStream by_header(d.port(), "/events?topic=user:alice", {{"Authorization", "Bearer " + alice}});
  EXPECT_EQ(by_header.read_head(), 200);
  SseStream by_query(d.port(), "/events?topic=user:alice&access_token=" + alice);
  EXPECT_EQ(by_query.read_head(), 200);
  SseStream by_cookie(d.port(), "/events?topic=user:alice",
                      {{"Cookie", "a=1; ssehub_token=" + alice}});
  EXPECT_EQ(by_cookie.read_head(), 200);

  auto denied = http(d.port(), "GET", "/events?topic=user:alice&topic=user:bob", "",
                     {{"Authorization", "Bearer " + alice}});
  EXPECT_EQ(denied.status, 403);
  EXPECT_NE(json::parse(denied.body)["detail"].get<std::string>().find("user:bob"),
            std::string::npos);

  auto pub_ok = http(d.port(), "POST", "/publish", R"({"topic":"user:alice","type":"t","data":1})",
                     {{"Authorization", "Bearer " + alice}});
  EXPECT_EQ(pub_ok.status, 201);
  auto pub_denied = http(d.port(), "POST", "/publish", R"({"topic":"news","type":"t","data":1})",
                         {{"Authorization", "Bearer " + alice}});
  EXPECT_EQ(pub_denied.status, 403);
  EXPECT_EQ(
      http(d.port(), "POST", "/publish", R"({"topic":"user:alice","type":"t","data":1})").status,
      401);

  // The published event reached the authorised subscriber.
  ASSERT_TRUE(by_header.next());  // ready
  auto e = by_header.next_non_heartbeat();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->data, "1");

  // No token ever reaches the log.
  EXPECT_EQ(d.log().find(alice.substr(alice.rfind('.') + 1)), std::string::npos);
  EXPECT_EQ(d.log().find(alice.substr(0, 20)), std::string::npos);
}

TEST(Auth, StreamEndsWithTokenExpiredAtExp) {
  Daemon d(jwt_env());
  std::string t = token("alice", "user:alice", "", "2s");
  SseStream s(d.port(), "/events?topic=user:alice", {{"Authorization", "Bearer " + t}});
  ASSERT_EQ(s.read_head(), 200);
  auto start = std::chrono::steady_clock::now();
  std::optional<SseEvent> e;
  do {
    e = s.next(5000ms);
  } while (e && e->type != "token-expired");
  ASSERT_TRUE(e) << "no token-expired event";
  EXPECT_TRUE(s.wait_closed(3000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4000ms);
  // The close is logged with the reason the stream ended for, not "draining".
  EXPECT_TRUE(eventually([&] { return d.log().find("reason=token expired") != std::string::npos; }))
      << d.log();
  EXPECT_EQ(d.log().find("reason=draining"), std::string::npos);
}

TEST(Auth, PerSubjectCapAnswers429) {
  Daemon d(jwt_env({{"SSEHUB_STREAM_MAX_CONNECTIONS_PER_SUBJECT", "2"}}));
  std::string t = token("carol", "c:*", "");
  SseStream a(d.port(), "/events?topic=c:1", {{"Authorization", "Bearer " + t}});
  SseStream b(d.port(), "/events?topic=c:2", {{"Authorization", "Bearer " + t}});
  ASSERT_EQ(a.read_head(), 200);
  ASSERT_EQ(b.read_head(), 200);
  auto third = http(d.port(), "GET", "/events?topic=c:3", "", {{"Authorization", "Bearer " + t}});
  EXPECT_EQ(third.status, 429);
  EXPECT_EQ(json::parse(third.body)["error"], "too_many_streams");
  // Another subject is not affected; a closed stream frees its slot.
  std::string dave = token("dave", "c:*", "");
  SseStream other(d.port(), "/events?topic=c:1", {{"Authorization", "Bearer " + dave}});
  EXPECT_EQ(other.read_head(), 200);
  a.close_socket();
  EXPECT_TRUE(eventually([&] {
    SseStream again(d.port(), "/events?topic=c:3", {{"Authorization", "Bearer " + t}});
    return again.read_head() == 200;
  }));
}

TEST(Auth, BadKeyConfigurationStopsStartUp) {
  std::string out;
  EXPECT_EQ(run_binary({}, {{"SSEHUB_AUTH_MODE", "jwt"}, {"SSEHUB_AUTH_JWT_SECRET", "short"}}, out),
            2);
  EXPECT_NE(out.find("auth.jwt_secret"), std::string::npos) << out;
  EXPECT_EQ(run_binary({},
                       {{"SSEHUB_AUTH_MODE", "jwt"},
                        {"SSEHUB_AUTH_JWT_PUBLIC_KEY_FILE", "/nonexistent.pem"}},
                       out),
            2);
  EXPECT_NE(out.find("auth.jwt_public_key_file"), std::string::npos) << out;
}

}  // namespace
}  // namespace ssehub::test

#include <fstream>

#include "test_keys.hpp"

namespace ssehub::test {
namespace {

std::string write_pem(const std::string& pem, const std::string& name) {
  std::string path = "/tmp/ssehub-test-" + std::to_string(getpid()) + "-" + name + ".pem";
  std::ofstream(path) << pem;
  return path;
}

std::string claims_for(const std::string& topic) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return json{{"sub", "pk-user"},
              {"exp", now + 600},
              {"iss", "https://issuer.example"},
              {"aud", "ssehub"},
              {"ssehub", {{"subscribe", {topic}}}}}
      .dump();
}

TEST(Auth, Rs256AndEs256PublicKeysThroughTheDaemon) {
  for (std::string alg : {"RS256", "ES256"}) {
    KeyPair keys = alg == "RS256" ? KeyPair::rsa2048() : KeyPair::ec_p256();
    std::string pem = keys.public_pem();
    std::string path = write_pem(pem, alg);
    Daemon d(Env{{"SSEHUB_AUTH_MODE", "jwt"},
                 {"SSEHUB_AUTH_JWT_PUBLIC_KEY_FILE", path},
                 {"SSEHUB_AUTH_ISSUER", "https://issuer.example"},
                 {"SSEHUB_AUTH_AUDIENCE", "ssehub"}});
    std::string good = keys.sign_jwt(alg, claims_for("pk:1"));
    SseStream s(d.port(), "/events?topic=pk:1", {{"Authorization", "Bearer " + good}});
    EXPECT_EQ(s.read_head(), 200) << alg;
    // HS256 "signed" with the public key text must not pass as the key's algorithm.
    std::string confused = sign_hs256(claims_for("pk:1"), pem);
    EXPECT_EQ(
        http(d.port(), "GET", "/events?topic=pk:1", "", {{"Authorization", "Bearer " + confused}})
            .status,
        401)
        << alg;
    // Another key of the same kind: bad signature.
    KeyPair other = alg == "RS256" ? KeyPair::rsa2048() : KeyPair::ec_p256();
    EXPECT_EQ(http(d.port(), "GET", "/events?topic=pk:1", "",
                   {{"Authorization", "Bearer " + other.sign_jwt(alg, claims_for("pk:1"))}})
                  .status,
              401)
        << alg;
    ::unlink(path.c_str());
  }
}

}  // namespace
}  // namespace ssehub::test

#include <openssl/pem.h>

namespace ssehub::test {
namespace {

// ES256 means P-256: a key file on another 256-bit curve must not start the daemon.
TEST(Auth, EcKeyOnAnotherCurveStopsStartUp) {
  for (const char* curve : {"secp256k1", "brainpoolP256r1"}) {
    EVP_PKEY* key = EVP_EC_gen(curve);
    ASSERT_NE(key, nullptr) << curve;
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string path = write_pem(std::string(data, static_cast<std::size_t>(n)), curve);
    BIO_free(bio);
    EVP_PKEY_free(key);
    std::string out;
    EXPECT_EQ(
        run_binary({}, {{"SSEHUB_AUTH_MODE", "jwt"}, {"SSEHUB_AUTH_JWT_PUBLIC_KEY_FILE", path}},
                   out),
        2)
        << curve;
    EXPECT_NE(out.find("auth.jwt_public_key_file"), std::string::npos) << out;
    EXPECT_NE(out.find("P-256"), std::string::npos) << out;
    ::unlink(path.c_str());
  }
}

// The per-subject cap counts streams by `sub`: a token that leaves it out (or
// makes it empty or not a string) is refused, so it cannot open streams past the cap.
TEST(Auth, TokenWithoutSubjectCannotSlipPastThePerSubjectCap) {
  Daemon d(jwt_env({{"SSEHUB_STREAM_MAX_CONNECTIONS_PER_SUBJECT", "1"}}));
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  json grants = {{"subscribe", {"c:*"}}, {"publish", {"c:*"}}};
  for (const json& claims : {json{{"exp", now + 600}, {"ssehub", grants}},
                             json{{"sub", ""}, {"exp", now + 600}, {"ssehub", grants}},
                             json{{"sub", 7}, {"exp", now + 600}, {"ssehub", grants}}}) {
    std::string t = sign_hs256(claims.dump(), kSecret);
    SseStream a(d.port(), "/events?topic=c:1", {{"Authorization", "Bearer " + t}});
    SseStream b(d.port(), "/events?topic=c:2", {{"Authorization", "Bearer " + t}});
    EXPECT_EQ(a.read_head(), 401) << claims.dump();
    EXPECT_EQ(b.read_head(), 401) << claims.dump();
    auto r = http(d.port(), "GET", "/events?topic=c:3", "", {{"Authorization", "Bearer " + t}});
    ASSERT_EQ(r.status, 401) << claims.dump();
    EXPECT_NE(json::parse(r.body)["detail"].get<std::string>().find("sub"), std::string::npos)
        << r.body;
  }
  // A token with a subject still gets its one stream.
  std::string erin = token("erin", "c:*", "");
  SseStream ok(d.port(), "/events?topic=c:1", {{"Authorization", "Bearer " + erin}});
  EXPECT_EQ(ok.read_head(), 200);
}

}  // namespace
}  // namespace ssehub::test

#include "bus/redis/redis_connection.hpp"
#include "redis_server.hpp"

namespace ssehub::test {
namespace {

std::string whoami(RedisConnection& c) {
  auto r = c.command({"ACL", "WHOAMI"});
  return std::string(r->str, r->len);
}

// bus.redis_url credentials reach Redis: an ACL user with a password that needs
// percent-encoding, a `nopass` user named alone, and the default user's password.
TEST(RedisAuth, AclUserAndPercentEncodedPasswordFromTheUrl) {
  RedisServer redis;
  ASSERT_EQ(redis.command({"ACL", "SETUSER", "app", "on", ">p@ss:w/rd %", "~*", "&*", "+@all"}),
            "OK");
  ASSERT_EQ(redis.command({"ACL", "SETUSER", "reader", "on", "nopass", "~*", "&*", "+@all"}), "OK");
  auto connect = [&](const std::string& userinfo) {
    auto url = "redis://" + userinfo + "@127.0.0.1:" + std::to_string(redis.port());
    auto parsed = redis::parse_url(url);
    if (auto* err = std::get_if<std::string>(&parsed)) throw std::runtime_error(*err);
    return std::make_unique<RedisConnection>(std::get<redis::Endpoint>(parsed), 2000ms);
  };
  EXPECT_EQ(whoami(*connect("app:p%40ss%3Aw%2Frd%20%25")), "app");
  EXPECT_EQ(whoami(*connect("reader")), "reader");
  EXPECT_THROW(connect("app:wrong"), std::runtime_error);
  ASSERT_EQ(redis.command({"CONFIG", "SET", "requirepass", "pa ss"}), "OK");
  EXPECT_EQ(whoami(*connect(":pa%20ss")), "default");
}

}  // namespace
}  // namespace ssehub::test

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace ssehub::test {
namespace {

// A Redis that freezes or vanishes is noticed on every connection: keepalive
// probes an idle socket, TCP_USER_TIMEOUT bounds unacknowledged writes.
TEST(RedisSocket, KeepaliveAndUserTimeoutOnEveryConnection) {
  RedisServer redis;
  RedisConnection c(std::get<redis::Endpoint>(redis::parse_url(redis.url())), 2000ms);
  auto option = [&](int level, int name) {
    int value = -1;
    socklen_t len = sizeof value;
    EXPECT_EQ(::getsockopt(c.fd(), level, name, &value, &len), 0);
    return value;
  };
  EXPECT_EQ(option(SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(option(IPPROTO_TCP, TCP_KEEPIDLE), RedisConnection::kKeepaliveIdle.count());
  EXPECT_EQ(option(IPPROTO_TCP, TCP_KEEPINTVL), RedisConnection::kKeepaliveInterval.count());
  EXPECT_EQ(option(IPPROTO_TCP, TCP_KEEPCNT), RedisConnection::kKeepaliveProbes);
  EXPECT_EQ(option(IPPROTO_TCP, TCP_USER_TIMEOUT), RedisConnection::kTcpUserTimeout.count());
  EXPECT_EQ(whoami(c), "default");  // the connection still works
}

}  // namespace
}  // namespace ssehub::test
