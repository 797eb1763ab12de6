#include "bus/redis/redis_connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace ssehub {
namespace {

timeval to_timeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

[[noreturn]] void fail(redisContext* c, const std::string& what) {
  throw std::runtime_error("redis " + what + ": " +
                           (c && c->err ? std::string(c->errstr) : std::string("failed")));
}

// Keepalive and TCP_USER_TIMEOUT on the connected socket (see the constants).
// hiredis 0.14's redisEnableKeepAlive fixes its own intervals and has no user
// timeout, so the options are set here.
void set_liveness_options(int fd) {
  auto set = [fd](int level, int name, int value, const char* what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
      throw std::runtime_error(std::string("redis socket option ") + what + ": " +
                               std::strerror(errno));
    }
  };
  set(SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
  set(IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(RedisConnection::kKeepaliveIdle.count()),
      "TCP_KEEPIDLE");
  set(IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(RedisConnection::kKeepaliveInterval.count()),
      "TCP_KEEPINTVL");
  set(IPPROTO_TCP, TCP_KEEPCNT, RedisConnection::kKeepaliveProbes, "TCP_KEEPCNT");
  set(IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(RedisConnection::kTcpUserTimeout.count()),
      "TCP_USER_TIMEOUT");
}

}  // namespace

RedisConnection::RedisConnection(const redis::Endpoint& e, std::chrono::milliseconds timeout) {
  ctx_ = redisConnectWithTimeout(e.host.c_str(), e.port, to_timeval(timeout));
  if (!ctx_ || ctx_->err) {
    std::string why = ctx_ ? ctx_->errstr : "cannot allocate a context";
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
    throw std::runtime_error("redis connect to " + e.host + ":" + std::to_string(e.port) + ": " +
                             why);
  }
  // Reads and writes on the blocking socket end at the timeout.
  redisSetTimeout(ctx_, to_timeval(timeout));
  try {
    set_liveness_options(ctx_->fd);
    if (auto auth = redis::auth_command(e)) command(*auth);
    if (e.db != 0) command({"SELECT", std::to_string(e.db)});
  } catch (...) {
    redisFree(ctx_);
    ctx_ = nullptr;
    throw;
  }
}

RedisConnection::~RedisConnection() {
  if (ctx_) redisFree(ctx_);
}

int RedisConnection::fd() const {
  return ctx_->fd;
}

void RedisConnection::append(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
      REDIS_OK) {
    fail(ctx_, "append");
  }
}

void RedisConnection::flush() {
  int done = 0;
  while (!done) {
    if (redisBufferWrite(ctx_, &done) != REDIS_OK) fail(ctx_, "write");
  }
}

void RedisConnection::read_available() {
  if (redisBufferRead(ctx_) != REDIS_OK) fail(ctx_, "read");
}

RedisReplyPtr RedisConnection::next_reply() {
  void* reply = nullptr;
  if (redisGetReplyFromReader(ctx_, &reply) != REDIS_OK) fail(ctx_, "protocol");
  return RedisReplyPtr(static_cast<redisReply*>(reply));
}

RedisReplyPtr RedisConnection::read_reply() {
  void* reply = nullptr;
  if (redisGetReply(ctx_, &reply) != REDIS_OK) fail(ctx_, "reply");
  RedisReplyPtr r(static_cast<redisReply*>(reply));
  if (r && r->type == REDIS_REPLY_ERROR) {
    throw std::runtime_error("redis error: " + std::string(r->str, r->len));
  }
  return r;
}

RedisReplyPtr RedisConnection::command(const std::vector<std::string>& args) {
  append(args);
  flush();
  return read_reply();
}

}  // namespace ssehub
