#pragma once
// One hiredis connection with bounded waits: connecting, sending and reading all
// have a deadline, so a paused or unreachable Redis never blocks a thread for
// long. Commands go out pipelined; replies are read as they arrive (poll, then
// parse what the socket had), which lets one thread serve a subscription and
// other work.
//
// Threads: one thread at a time. Lifetime: the connection closes with the object.

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus/redis/redis_protocol.hpp"

namespace ssehub {

struct RedisReplyDeleter {
  void operator()(redisReply* r) const {
    if (r) freeReplyObject(r);
  }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

class RedisConnection {
 public:
  // Every socket gets TCP keepalive (first probe after kKeepaliveIdle of silence,
  // then every kKeepaliveInterval, kKeepaliveProbes of them) and TCP_USER_TIMEOUT,
  // so a peer that froze or vanished fails the connection within seconds even
  // while it is idle (a subscriber waiting for messages) or the data sent sits
  // unacknowledged, instead of after the kernel's retransmission limit (minutes).
  static constexpr std::chrono::seconds kKeepaliveIdle{10};
  static constexpr std::chrono::seconds kKeepaliveInterval{5};
  static constexpr int kKeepaliveProbes = 3;
  static constexpr std::chrono::milliseconds kTcpUserTimeout{10000};

  // Connects (AUTH, SELECT as the endpoint says); throws std::runtime_error.
  RedisConnection(const redis::Endpoint& endpoint, std::chrono::milliseconds timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  int fd() const;
  // Queues a command (not sent until flush()).
  void append(const std::vector<std::string>& args);
  // Sends what is queued; throws on error.
  void flush();
  // Reads what the socket has now (after poll said it is readable); throws when
  // the connection is closed or broken.
  void read_available();
  // The next complete reply already read, if any.
  RedisReplyPtr next_reply();
  // Waits for the next reply (bounded by the timeout); throws on error, timeout or
  // an error reply.
  RedisReplyPtr read_reply();
  // Sends `args` and waits for its reply; throws on error or timeout.
  RedisReplyPtr command(const std::vector<std::string>& args);

 private:
  redisContext* ctx_ = nullptr;
};

}  // namespace ssehub
