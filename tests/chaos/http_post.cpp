#include "http_post.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "test_support.hpp"

namespace ssehub::chaos {
namespace {

using Clock = std::chrono::steady_clock;

class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Waits for `events` until the deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

// Content-Length known and the body complete, or the server closed.
bool complete(const std::string& text) {
  const auto head_end = text.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  const auto r = test::parse_response(text);
  const auto cl = r.headers.find("content-length");
  return cl != r.headers.end() && r.body.size() >= std::stoul(cl->second);
}

}  // namespace

PostResult post_json(std::uint16_t port, const std::string& target, const std::string& body,
                     std::chrono::milliseconds timeout) {
  PostResult out;
  const auto deadline = Clock::now() + timeout;
  Socket sock;
  if (sock.fd() < 0) return {0, "", "socket failed"};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(sock.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return {0, "", std::string("connect: ") + std::strerror(errno)};
    if (!wait_for(sock.fd(), POLLOUT, deadline)) return {0, "", "connect timed out"};
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(sock.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return {0, "", std::string("connect: ") + std::strerror(err)};
  }
  int one = 1;
  ::setsockopt(sock.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const std::string request = "POST " + target +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                              "Content-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  std::size_t sent = 0;
  std::string text;
  char buf[16384];
  while (sent < request.size()) {
    const ssize_t n = ::send(sock.fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The server may answer early (413) and close: read what it says.
      if (!wait_for(sock.fd(), POLLOUT | POLLIN, deadline)) return {0, "", "send timed out"};
      const ssize_t r = ::recv(sock.fd(), buf, sizeof buf, MSG_DONTWAIT);
      if (r > 0) text.append(buf, static_cast<std::size_t>(r));
      if (r == 0 || complete(text)) break;
    } else if (n < 0 && errno != EINTR) {
      if (!text.empty()) break;
      return {0, "", std::string("send: ") + std::strerror(errno)};
    }
  }
  while (!complete(text)) {
    if (!wait_for(sock.fd(), POLLIN, deadline)) {
      return {0, "", text.empty() ? "no response in time" : "response cut off in time"};
    }
    const ssize_t r = ::recv(sock.fd(), buf, sizeof buf, 0);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (text.empty()) return {0, "", std::string("recv: ") + std::strerror(errno)};
      break;
    }
    text.append(buf, static_cast<std::size_t>(r));
  }
  const auto r = test::parse_response(text);
  if (r.status == 0) return {0, "", "no HTTP response (" + std::to_string(text.size()) + " bytes)"};
  out.status = r.status;
  out.body = r.body;
  if (!complete(text)) out.error = "response cut off";
  return out;
}

}  // namespace ssehub::chaos
