#pragma once
// Test helpers: start the real ssehub binary on a free loopback port and talk to it
// over plain blocking sockets (HTTP/1.1 and the SSE wire format).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "child_server.hpp"

namespace ssehub::test {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

std::string binary_path();

// A daemon process with a private log file, on a free loopback port unless the
// environment names one; ready once /health/live answers (15 s). It gets the caller's
// environment without its SSEHUB_ variables, plus `env`, and may outlive the thread
// that started it. The destructor kills it.
class Daemon : public ChildServer {
 public:
  explicit Daemon(std::map<std::string, std::string> env = {},
                  const std::vector<std::string>& args = {});

  std::uint16_t port() const { return port_; }
  // Sends `sig` (0: none) and waits; returns the exit status (or 128+signal), -1 on
  // timeout (the daemon is left running then).
  int stop(int sig = 15, Ms timeout = 15000ms);

 private:
  std::uint16_t port_ = 0;
};

// Runs the binary to completion (for --help, bad configuration); returns exit status.
int run_binary(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
               std::string& output, Ms timeout = 10000ms);

int connect_loopback(std::uint16_t port, const char* source_ip = nullptr);

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// Sends a request with `Connection: close` and reads the response to the end.
HttpResponse http(std::uint16_t port, const std::string& method, const std::string& target,
                  const std::string& body = "",
                  const std::map<std::string, std::string>& headers = {}, Ms timeout = 5000ms);
// Sends raw bytes, reads until the server closes or the timeout passes.
HttpResponse raw_request(std::uint16_t port, const std::string& bytes, Ms timeout = 5000ms);
HttpResponse parse_response(const std::string& text);

// Publishes and returns the ids ({} on failure).
std::vector<std::string> publish(std::uint16_t port, const std::string& json_body);

struct SseEvent {
  std::optional<std::string> id;
  std::string type = "message";
  std::string data;
  std::optional<std::string> topic;  // ssehub's `topic:` field
};

// Incremental parser of the event-stream format (WHATWG rules).
class SseParser {
 public:
  void feed(const std::string& bytes);
  std::vector<SseEvent> take();
  std::vector<std::uint64_t> retries;

 private:
  void line(const std::string& l);
  std::string buf_;
  std::vector<SseEvent> ready_;
  SseEvent cur_;
  bool has_data_ = false;
};

class SseStream {
 public:
  SseStream(std::uint16_t port, const std::string& target,
            const std::map<std::string, std::string>& headers = {},
            const char* source_ip = nullptr);
  ~SseStream();
  SseStream(const SseStream&) = delete;

  // Reads the response head; returns the status.
  int read_head(Ms timeout = 5000ms);
  // Next event of any type, nullopt on timeout or end of stream.
  std::optional<SseEvent> next(Ms timeout = 5000ms);
  // Next event that is not a heartbeat.
  std::optional<SseEvent> next_non_heartbeat(Ms timeout = 5000ms);
  // Reads until the server closes; true if it did within the timeout.
  bool wait_closed(Ms timeout);
  bool closed() const { return closed_; }
  int fd() const { return fd_; }
  const std::map<std::string, std::string>& headers() const { return head_.headers; }
  const std::vector<std::uint64_t>& retries() const { return parser_.retries; }
  void close_socket();

 private:
  void send_request();
  bool read_some(Ms timeout);
  int fd_ = -1;
  std::string target_;
  std::map<std::string, std::string> request_headers_;
  std::string pending_;
  bool head_done_ = false;
  bool closed_ = false;
  HttpResponse head_;
  SseParser parser_;
  std::vector<SseEvent> queue_;
};

// Opens `n` streams on `target`, each through its 200 head; stops at the first
// that fails (a gtest failure), so callers check the count.
std::vector<std::unique_ptr<SseStream>> open_streams(std::uint16_t port, const std::string& target,
                                                     int n);

// A `replay-truncated` for the replay limit: its id is `resume_id` (the head)
// and its data names the reason, the limit and the id asked after.
void expect_limit_truncation(const std::optional<SseEvent>& t, const std::string& resume_id,
                             int limit, const std::string& requested_after);

using Env = std::map<std::string, std::string>;

// Polls `cond` every 10 ms until it holds or `timeout` passes.
template <typename F>
bool eventually(F cond, Ms timeout = 5000ms) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    struct timespec ts {
      0, 10 * 1000 * 1000
    };
    nanosleep(&ts, nullptr);
  }
  return cond();
}

std::uint64_t seq_of(const std::string& id);
std::string epoch_of(const std::string& id);
// Value of an unlabelled metric in /metrics text, -1 if absent.
double metric_value(const std::string& metrics_text, const std::string& name);

}  // namespace ssehub::test
