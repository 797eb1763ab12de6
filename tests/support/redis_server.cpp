#include "redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace ssehub::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kRedisBinary = "/usr/bin/redis-server";
constexpr milliseconds kStartTimeout{30000};
constexpr milliseconds kStopTimeout{10000};
constexpr milliseconds kCommandTimeout{5000};
constexpr milliseconds kPingTimeout{1000};
constexpr int kMaxDepth = 16;

// A loopback TCP connection whose every operation shares one deadline.
class Connection {
 public:
  Connection(std::uint16_t port, Clock::time_point deadline) : deadline_(deadline) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      if (errno != EINPROGRESS) fail("connect");
      wait_for(POLLOUT, "connect");
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) fail("getsockopt");
      if (err != 0) {
        errno = err;
        fail("connect");
      }
    }
  }
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void send_all(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wait_for(POLLOUT, "send");
      } else if (n < 0 && errno != EINTR) {
        fail("send");
      }
    }
  }

  // One line without its CRLF.
  std::string line() {
    for (;;) {
      const auto end = buf_.find("\r\n", pos_);
      if (end != std::string::npos) {
        std::string out = buf_.substr(pos_, end - pos_);
        pos_ = end + 2;
        return out;
      }
      fill();
    }
  }

  // `n` bytes followed by CRLF.
  std::string bytes(std::size_t n) {
    while (buf_.size() - pos_ < n + 2) fill();
    if (buf_.compare(pos_ + n, 2, "\r\n") != 0) {
      throw std::runtime_error("redis reply: bulk string not terminated by CRLF");
    }
    std::string out = buf_.substr(pos_, n);
    pos_ += n + 2;
    return out;
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("redis ") + what + ": " + std::strerror(errno));
  }

  void wait_for(short events, const char* what) {
    for (;;) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now()).count();
      if (left <= 0) throw std::runtime_error(std::string("redis ") + what + ": timed out");
      pollfd p{fd_, events, 0};
      int r = ::poll(&p, 1, static_cast<int>(left));
      if (r > 0) return;
      if (r < 0 && errno != EINTR) fail("poll");
    }
  }

  void fill() {
    if (pos_ > 0 && pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    char chunk[16384];
    for (;;) {
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        buf_.append(chunk, static_cast<std::size_t>(n));
        return;
      }
      if (n == 0) throw std::runtime_error("redis connection closed before the full reply");
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wait_for(POLLIN, "reply");
      } else if (errno != EINTR) {
        fail("recv");
      }
    }
  }

  int fd_ = -1;
  Clock::time_point deadline_;
  std::string buf_;
  std::size_t pos_ = 0;
};

long long parse_length(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || n < -1) {
    throw std::runtime_error("redis reply: bad length '" + text + "'");
  }
  return n;
}

// Reads one reply (RESP2, plus the RESP3 types in case a caller sends HELLO 3).
std::string read_reply(Connection& conn, int depth = 0) {
  if (depth > kMaxDepth) throw std::runtime_error("redis reply: nested too deeply");
  const std::string head = conn.line();
  if (head.empty()) throw std::runtime_error("redis reply: empty line");
  std::string body = head.substr(1);
  switch (head[0]) {
    case '+':  // simple string
    case '-':  // error
    case ':':  // integer
    case ',':  // double
    case '#':  // boolean
    case '(':  // big number
      return body;
    case '_':  // null
      return "";
    case '$':    // bulk string
    case '!':    // bulk error
    case '=': {  // verbatim string
      const long long n = parse_length(body);
      if (n < 0) return "";
      std::string text = conn.bytes(static_cast<std::size_t>(n));
      if (head[0] == '=' && text.size() >= 4 && text[3] == ':') text.erase(0, 4);
      return text;
    }
    case '*':    // array
    case '~':    // set
    case '>':    // push
    case '%': {  // map: key and value per entry
      long long n = parse_length(body);
      if (n < 0) return "";
      if (head[0] == '%') n *= 2;
      std::string out;
      for (long long i = 0; i < n; ++i) {
        if (i > 0) out += '\n';
        out += read_reply(conn, depth + 1);
      }
      return out;
    }
    default:
      throw std::runtime_error("redis reply: unknown type in '" + head + "'");
  }
}

std::string run_command(std::uint16_t port, const std::vector<std::string>& args,
                        milliseconds timeout) {
  if (args.empty()) throw std::invalid_argument("redis command: no arguments");
  std::string request = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) {
    request += "$" + std::to_string(a.size()) + "\r\n";
    request += a;
    request += "\r\n";
  }
  Connection conn(port, Clock::now() + timeout);
  conn.send_all(request);
  return read_reply(conn);
}

}  // namespace

RedisServer::RedisServer()
    : ChildServer("redis-server", "/tmp/ssehub-redis-", "redis.log"), port_(free_port()) {
  if (::access(kRedisBinary, X_OK) != 0) {
    throw std::runtime_error(std::string("no ") + kRedisBinary + " (apt-get install redis-server)");
  }
  start();
}

RedisServer::~RedisServer() {
  stop_or_kill([this] { stop(); }, [this] { kill_hard(); });
}

void RedisServer::start() {
  if (pid() > 0) return;
  spawn({kRedisBinary, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", dir(), "--logfile", log_path(), "--daemonize", "no",
         "--protected-mode", "yes"},
        {.cwd = dir(), .env = minimal_env()});
  const auto deadline = Clock::now() + kStartTimeout;
  wait_ready(
      [&](std::string& last) {
        try {
          const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
          last =
              run_command(port_, {"PING"}, std::max(milliseconds(1), std::min(kPingTimeout, left)));
        } catch (const std::exception& e) {
          last = e.what();
        }
        return last == "PONG";
      },
      kStartTimeout, "answer PING");
}

void RedisServer::stop() {
  if (pid() <= 0) return;
  signal_and_wait(SIGTERM, kStopTimeout);
  // SIGKILL after the bound; the process group: a fork redis made for a background save.
  kill_child();
}

void RedisServer::kill_hard() {
  kill_child();
}

std::string RedisServer::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_);
}

std::string RedisServer::command(const std::vector<std::string>& args) {
  return run_command(port_, args, kCommandTimeout);
}

}  // namespace ssehub::test
