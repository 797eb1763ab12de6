#include "test_support.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#ifndef SSEHUB_BINARY
#error "SSEHUB_BINARY must name the daemon under test"
#endif

namespace ssehub::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads what is available within `timeout`: >0 bytes, 0 on EOF, -1 on timeout/error.
ssize_t recv_some(int fd, std::string& out, Ms timeout) {
  pollfd p{fd, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (r <= 0) return -1;
  char buf[65536];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  if (n < 0) return errno == ECONNRESET ? 0 : -1;
  return n;
}

// The caller's environment without its SSEHUB_ variables (so they do not leak in), plus `env`.
std::vector<std::string> daemon_env(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    if (name.rfind("SSEHUB_", 0) != 0 && !env.count(name)) out.push_back(entry);
  }
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

// The daemon's command line: the binary, then `args`.
std::vector<std::string> daemon_args(const std::vector<std::string>& args) {
  std::vector<std::string> out{binary_path()};
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

std::string temp_root() {
  const char* dir = std::getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

constexpr Ms kDaemonStartTimeout = 15000ms;

}  // namespace

std::string binary_path() {
  // Another build of the daemon (an older one, to see a regression test fail).
  if (const char* other = std::getenv("SSEHUB_TEST_BINARY"); other && *other) return other;
  return SSEHUB_BINARY;
}

Daemon::Daemon(std::map<std::string, std::string> env, const std::vector<std::string>& args)
    : ChildServer("ssehub", temp_root() + "/ssehub-daemon-", "daemon.log") {
  if (!env.count("SSEHUB_SERVER_LISTEN")) {
    env["SSEHUB_SERVER_LISTEN"] = "127.0.0.1:" + std::to_string(free_port());
  }
  const std::string& listen = env["SSEHUB_SERVER_LISTEN"];
  port_ = static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
  spawn(daemon_args(args), {.env = daemon_env(env), .die_with_thread = false});
  wait_ready(
      [&](std::string&) { return http(port_, "GET", "/health/live", "", {}, 500ms).status == 200; },
      kDaemonStartTimeout, "answer /health/live");
}

int Daemon::stop(int sig, Ms timeout) {
  if (pid() <= 0) return -1;
  if (!signal_and_wait(sig, timeout)) return -1;
  return exit_code(kill_child());
}

int run_binary(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
               std::string& output, Ms timeout) {
  const std::string dir = make_temp_dir(temp_root() + "/ssehub-run-");
  const std::string path = dir + "/run.out";
  int rc = -1;
  try {
    const pid_t pid = spawn_process(daemon_args(args),
                                    {.name = "ssehub", .log_path = path, .env = daemon_env(env)});
    int status = 0;
    if (reap(pid, timeout, &status)) {
      rc = exit_code(status);
    } else {
      ::kill(pid, SIGKILL);
      reap(pid, 2000ms);
    }
  } catch (...) {
    remove_tree(dir);
    throw;
  }
  output = read_text(path);
  remove_tree(dir);
  return rc;
}

int connect_loopback(std::uint16_t port, const char* source_ip) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (source_ip) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    if (inet_pton(AF_INET, source_ip, &src.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

HttpResponse parse_response(const std::string& text) {
  HttpResponse r;
  auto head_end = text.find("\r\n\r\n");
  std::string head = text.substr(0, head_end);
  if (head.rfind("HTTP/1.", 0) == 0 && head.size() >= 12) r.status = std::stoi(head.substr(9, 3));
  std::istringstream lines(head);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers[lower(line.substr(0, colon))] = value;
  }
  if (head_end != std::string::npos) r.body = text.substr(head_end + 4);
  return r;
}

HttpResponse raw_request(std::uint16_t port, const std::string& bytes, Ms timeout) {
  int fd = connect_loopback(port);
  if (fd < 0) return {};
  send_all(fd, bytes);
  std::string text;
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    auto left = std::chrono::duration_cast<Ms>(end - std::chrono::steady_clock::now());
    ssize_t n = recv_some(fd, text, std::max(left, Ms(1)));
    if (n <= 0) break;
    // Stop once a complete response with Content-Length has arrived.
    auto r = parse_response(text);
    auto cl = r.headers.find("content-length");
    if (r.status && cl != r.headers.end() &&
        r.body.size() >= static_cast<std::size_t>(std::stoul(cl->second))) {
      break;
    }
  }
  ::close(fd);
  return parse_response(text);
}

HttpResponse http(std::uint16_t port, const std::string& method, const std::string& target,
                  const std::string& body, const std::map<std::string, std::string>& headers,
                  Ms timeout) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  bool has_ct = false;
  for (auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    if (lower(k) == "content-type") has_ct = true;
  }
  if (!body.empty() || method == "POST") {
    if (!has_ct) req += "Content-Type: application/json\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  return raw_request(port, req, timeout);
}

std::vector<std::string> publish(std::uint16_t port, const std::string& json_body) {
  auto r = http(port, "POST", "/publish", json_body);
  if (r.status != 201) return {};
  auto j = nlohmann::json::parse(r.body);
  return j["ids"].get<std::vector<std::string>>();
}

void SseParser::feed(const std::string& bytes) {
  buf_ += bytes;
  while (true) {
    auto pos = buf_.find_first_of("\r\n");
    if (pos == std::string::npos) return;
    if (buf_[pos] == '\r' && pos + 1 == buf_.size()) return;  // CR may start CRLF
    std::size_t skip = (buf_[pos] == '\r' && buf_[pos + 1] == '\n') ? 2 : 1;
    std::string l = buf_.substr(0, pos);
    buf_.erase(0, pos + skip);
    line(l);
  }
}

void SseParser::line(const std::string& l) {
  if (l.empty()) {
    if (has_data_) {
      if (!cur_.data.empty() && cur_.data.back() == '\n') cur_.data.pop_back();
      ready_.push_back(cur_);
    }
    cur_ = SseEvent{};
    has_data_ = false;
    return;
  }
  if (l[0] == ':') return;
  auto colon = l.find(':');
  std::string field = l.substr(0, colon);
  std::string value = colon == std::string::npos ? "" : l.substr(colon + 1);
  if (!value.empty() && value[0] == ' ') value.erase(0, 1);
  if (field == "data") {
    cur_.data += value + "\n";
    has_data_ = true;
  } else if (field == "event") {
    cur_.type = value;
  } else if (field == "id") {
    cur_.id = value;
  } else if (field == "topic") {
    cur_.topic = value;
  } else if (field == "retry") {
    retries.push_back(std::stoull(value));
  }
}

std::vector<SseEvent> SseParser::take() {
  return std::exchange(ready_, {});
}

SseStream::SseStream(std::uint16_t port, const std::string& target,
                     const std::map<std::string, std::string>& headers, const char* source_ip)
    : target_(target), request_headers_(headers) {
  fd_ = connect_loopback(port, source_ip);
  if (fd_ < 0) closed_ = true;
  send_request();
}

SseStream::~SseStream() {
  close_socket();
}

void SseStream::close_socket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void SseStream::send_request() {
  std::string req =
      "GET " + target_ + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (auto& [k, v] : request_headers_) req += k + ": " + v + "\r\n";
  req += "\r\n";
  if (fd_ >= 0 && !send_all(fd_, req)) closed_ = true;
}

bool SseStream::read_some(Ms timeout) {
  if (fd_ < 0 || closed_) return false;
  std::string got;
  ssize_t n = recv_some(fd_, got, timeout);
  if (n == 0) {
    closed_ = true;
    return false;
  }
  if (n < 0) return false;
  if (!head_done_) {
    pending_ += got;
    auto end = pending_.find("\r\n\r\n");
    if (end == std::string::npos) return true;
    head_ = parse_response(pending_.substr(0, end + 4));
    head_done_ = true;
    got = pending_.substr(end + 4);
    pending_.clear();
    if (head_.status != 200) {
      head_.body = got;
      return true;
    }
  }
  parser_.feed(got);
  for (auto& e : parser_.take()) queue_.push_back(std::move(e));
  return true;
}

int SseStream::read_head(Ms timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!head_done_ && std::chrono::steady_clock::now() < end && !closed_) {
    read_some(std::chrono::duration_cast<Ms>(end - std::chrono::steady_clock::now()) + 1ms);
  }
  return head_done_ ? head_.status : 0;
}

std::optional<SseEvent> SseStream::next(Ms timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (queue_.empty()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= end || closed_) return std::nullopt;
    read_some(std::chrono::duration_cast<Ms>(end - now) + 1ms);
  }
  SseEvent e = std::move(queue_.front());
  queue_.erase(queue_.begin());
  return e;
}

std::optional<SseEvent> SseStream::next_non_heartbeat(Ms timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<Ms>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto e = next(left);
    if (!e || e->type != "heartbeat") return e;
  }
}

bool SseStream::wait_closed(Ms timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!closed_ && std::chrono::steady_clock::now() < end) {
    read_some(std::chrono::duration_cast<Ms>(end - std::chrono::steady_clock::now()) + 1ms);
  }
  return closed_;
}

std::uint64_t seq_of(const std::string& id) {
  return std::stoull(id.substr(id.find('-') + 1));
}
std::string epoch_of(const std::string& id) {
  return id.substr(0, id.find('-'));
}

double metric_value(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

std::vector<std::unique_ptr<SseStream>> open_streams(std::uint16_t port, const std::string& target,
                                                     int n) {
  std::vector<std::unique_ptr<SseStream>> out;
  for (int i = 0; i < n; ++i) {
    auto s = std::make_unique<SseStream>(port, target);
    const int status = s->read_head();
    EXPECT_EQ(status, 200) << "stream " << i << " of " << n;
    if (status != 200) break;
    out.push_back(std::move(s));
  }
  return out;
}

void expect_limit_truncation(const std::optional<SseEvent>& t, const std::string& resume_id,
                             int limit, const std::string& requested_after) {
  ASSERT_TRUE(t) << "no replay-truncated";
  EXPECT_EQ(t->type, "replay-truncated");
  EXPECT_EQ(t->id, resume_id);
  auto data = nlohmann::json::parse(t->data);
  EXPECT_EQ(data["reason"], "limit");
  EXPECT_EQ(data["limit"], limit);
  EXPECT_EQ(data["requestedAfter"], requested_after);
}

}  // namespace ssehub::test
