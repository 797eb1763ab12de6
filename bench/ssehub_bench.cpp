// ssehub_bench: load generator for ssehub. Runs by hand, prints figures; never
// part of the test suite. Traffic goes only to loopback; every phase is bounded
// in time. Subscribers are spread over child processes (each under the
// per-process descriptor limit) and over 127.0.0.x source addresses.
//
//   ssehub_bench idle   --daemon build/ssehub --streams 19000
//   ssehub_bench fanout --daemon build/ssehub --streams 10000 --rate 10 --seconds 20
//   ssehub_bench floor  --writes 200000
//   ssehub_bench fanout ... --batch 20 --wrap "strace -f -c -o /tmp/sys.txt"
//   ssehub_bench fanout --ports 8081,8082 [--pids 123,456] --streams 10000
//   ssehub_bench fanout --peer nchan --ports 8090 --pids MASTER,WORKER1,WORKER2 ...
//
// idle:   holds N streams, reports daemon memory per stream: the growth of RSS
//         and of PSS (/proc/PID/smaps_rollup, which counts shared pages once),
//         anonymous and shared memory pages only (see ProcStat).
//         With --ports --pids: streams to daemons already running, memory summed
//         over the pids (for nginx: master and workers; there RSS counts the
//         shared memory zone once per process, so PSS is the figure to compare).
// fanout: N subscribers of one topic, events published at RATE/s; reports
//         deliveries/s, publish->delivery latency percentiles, the publish round
//         trip (POST sent -> response read), daemon CPU per delivery, and the bare
//         loopback write floor measured in the same run.
//         With --ports it starts no daemon: it uses daemons already listening on
//         those loopback ports, spreads subscribers round robin over them and
//         publishes to the first; daemon CPU (summed) comes from --pids if given,
//         and is skipped, with the write floor, otherwise.
//         --peer nchan: the same load against nginx with the nchan module (on
//         --ports, started by the caller, e.g. bench/nchan_compare.sh); only the
//         protocol differs (see Peer).
//         --probe-connects N: while publishing, a prober opens N new streams one
//         at a time, spread over the run, and reports connect -> ready
//         percentiles (each probe has 5 s; failures and late ones are counted).
// floor:  only the bare write floor: CPU per small write() to loopback sockets,
//         to one socket and round robin over --streams sockets (at most 9000).
//
// One file over 400 lines by choice: a hand-run tool whose modes (idle, fanout,
// floor) share one set of options, child processes and report; nothing links it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

struct Options {
  std::string mode;
  std::string daemon;
  int port = 0;
  int streams = 1000;
  int per_process = 8000;
  double rate = 10;
  int seconds = 20;
  long writes = 200000;
  int threads = 0;
  int batch = 1;            // events per POST in fanout
  std::string wrap;         // command prefix for the daemon, e.g. "strace -f -c -o FILE"
  std::vector<int> ports;   // fanout: running daemons to use instead of starting one
  std::vector<pid_t> pids;  // fanout with --ports: their pids, for CPU figures
  bool nchan = false;       // --peer nchan: nginx with the nchan module, on --ports
  int probes = 0;           // fanout: streams opened one by one while publishing
};

// "1,2,3" -> {1,2,3}; at most 64 entries.
std::vector<long> parse_list(const std::string& v) {
  std::vector<long> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',') && out.size() < 64) {
    if (!item.empty()) out.push_back(std::stol(item));
  }
  return out;
}

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void raise_nofile() {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
}

int connect_to(int port, const std::string& src) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (!src.empty()) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    inet_pton(AF_INET, src.c_str(), &s.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&s), sizeof s) != 0) {
      close(fd);
      return -1;
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += n;
  }
  return true;
}

// Reads one HTTP response with Content-Length from a keep-alive connection.
int read_response(int fd, std::string& buf) {
  while (true) {
    auto end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      auto cl = buf.find("Content-Length: ");
      size_t len = cl != std::string::npos && cl < end ? std::stoul(buf.substr(cl + 16)) : 0;
      if (buf.size() >= end + 4 + len) {
        int status = std::atoi(buf.c_str() + 9);
        buf.erase(0, end + 4 + len);
        return status;
      }
    }
    char tmp[4096];
    ssize_t n = recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return -1;
    buf.append(tmp, n);
  }
}

struct ProcStat {
  double cpu_seconds = 0;
  long rss_kib = 0;
  // Proportional set size of anonymous and shared memory (Pss_Anon + Pss_Shmem):
  // a page shared by several processes (nginx's master and workers: the nchan
  // shared memory zone, pages not yet copied after fork) counts once over all
  // of them, not once in each. File pages (the binary, the libraries) are left
  // out: their share changes whenever another program on the machine maps the
  // same library. Plain Pss on kernels without these fields.
  long pss_kib = 0;
};

ProcStat read_proc(pid_t pid) {
  ProcStat out;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto rp = text.rfind(')');
  if (rp != std::string::npos) {
    std::istringstream rest(text.substr(rp + 2));
    std::string f;
    std::vector<std::string> fields;
    while (rest >> f) fields.push_back(f);
    // fields[11] utime, fields[12] stime (after pid and comm)
    if (fields.size() > 13) {
      out.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / sysconf(_SC_CLK_TCK);
    }
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) out.rss_kib = std::stol(line.substr(6));
  }
  std::ifstream rollup("/proc/" + std::to_string(pid) + "/smaps_rollup");
  long pss = 0, anon = -1, shmem = 0;
  while (std::getline(rollup, line)) {
    if (line.rfind("Pss:", 0) == 0) pss = std::stol(line.substr(4));
    if (line.rfind("Pss_Anon:", 0) == 0) anon = std::stol(line.substr(9));
    if (line.rfind("Pss_Shmem:", 0) == 0) shmem = std::stol(line.substr(10));
  }
  out.pss_kib = anon >= 0 ? anon + shmem : pss;
  return out;
}

pid_t start_daemon(const Options& o, int port) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);  // the daemon (and a --wrap tool) form one group, stopped together
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::string listen = "127.0.0.1:" + std::to_string(port);
    setenv("SSEHUB_SERVER_LISTEN", listen.c_str(), 1);
    setenv("SSEHUB_LOG_LEVEL", "warn", 1);
    setenv("SSEHUB_STREAM_HEARTBEAT_MS", "600000", 1);
    setenv("SSEHUB_SERVER_DRAIN_TIMEOUT_MS", "2000", 1);
    if (o.threads) setenv("SSEHUB_SERVER_THREADS", std::to_string(o.threads).c_str(), 1);
    if (!o.wrap.empty()) {
      std::string cmd = "exec " + o.wrap + " " + o.daemon;
      execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
    } else {
      execl(o.daemon.c_str(), o.daemon.c_str(), nullptr);
    }
    _exit(127);
  }
  for (int i = 0; i < 500; ++i) {
    int fd = connect_to(port, "");
    if (fd >= 0) {
      close(fd);
      return pid;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  fprintf(stderr, "daemon did not start\n");
  exit(1);
}

// SIGTERM to the daemon's process group: the daemon drains and exits 0, and a
// --wrap tool such as strace -c writes its report when its tracee is gone.
void stop_daemon(pid_t daemon) {
  kill(-daemon, SIGTERM);
  waitpid(daemon, nullptr, 0);
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    perror("bind");
    exit(1);
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// What differs between the peers is the protocol only: the subscribe request,
// what counts as `ready`, and the publish request. The load, the timing and the
// event data ({"t":<ns>,"pad":"ppp..."}, read back from each event) are the same.
//   ssehub: GET /events?topic=bench; ready = the `event: ready` frame;
//           POST /publish with a JSON array of events; success = 201.
//   nchan:  GET /sub/bench (eventsource subscriber); ready = the response head,
//           as nchan sends nothing of its own that means subscribed; POST
//           /pub/bench with the event's data as the raw body and the event type
//           in X-EventSource-Event, so the frame has the same lines; success = 2xx
//           (nchan answers 201, or 202 when the channel has no subscriber).
struct Peer {
  bool nchan = false;

  std::string subscribe_request() const {
    return nchan ? "GET /sub/bench HTTP/1.1\r\nHost: b\r\nAccept: text/event-stream\r\n\r\n"
                 : "GET /events?topic=bench HTTP/1.1\r\nHost: b\r\n\r\n";
  }

  // Offset just past `ready` in a stream's first bytes, or npos if not there yet.
  size_t ready_end(std::string_view head) const {
    if (nchan) {
      auto e = head.find("\r\n\r\n");
      return e == std::string_view::npos ? e : e + 4;
    }
    auto e = head.find("event: ready");
    if (e == std::string_view::npos) return e;
    auto f = head.find("\n\n", e);
    return f == std::string_view::npos ? f : f + 2;
  }

  // One publish request of `batch` events, each stamped with the time now.
  std::string publish_request(int batch) const {
    auto data = [] {
      return "{\"t\":" + std::to_string(now_ns()) + ",\"pad\":\"" + std::string(60, 'p') + "\"}";
    };
    std::string head, body;
    if (nchan) {
      head = "POST /pub/bench HTTP/1.1\r\nX-EventSource-Event: tick\r\n";
      body = data();
    } else {
      head = "POST /publish HTTP/1.1\r\n";
      body = "[";
      for (int b = 0; b < batch; ++b) {
        body += std::string(b ? "," : "") +
                "{\"topic\":\"bench\",\"type\":\"tick\",\"data\":" + data() + "}";
      }
      body += "]";
    }
    return head + "Host: b\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  bool published(int status) const { return nchan ? status >= 200 && status < 300 : status == 201; }
};

// A child process holding `count` subscribers. It reports "ready\n" on `report`
// once every stream saw `ready` (or exits 2 if that takes over 60 s), then on
// SIGTERM writes "<events> <bytes> <closed>\n" (events received, their bytes on
// the wire after `ready`, streams the daemon closed) and its latency samples
// (µs), and exits.
volatile sig_atomic_t g_stop = 0;

// Stream i (numbered across all children from `first`) goes to ports[i % size].
void subscriber_child(const Peer& peer, const std::vector<int>& ports, int first, int count,
                      int child, int report, std::int64_t stop_at_ns) {
  signal(SIGTERM, [](int) { g_stop = 1; });
  raise_nofile();
  int ep = epoll_create1(0);
  std::vector<int> fds;
  const std::string req = peer.subscribe_request();
  for (int i = 0; i < count; ++i) {
    std::string src = "127.0." + std::to_string(1 + child) + "." + std::to_string(2 + i % 200);
    int fd = connect_to(ports[(first + i) % ports.size()], src);
    if (fd < 0 || !send_all(fd, req)) {
      fprintf(stderr, "child %d: connect %d failed: %s\n", child, i, strerror(errno));
      _exit(2);
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{EPOLLIN, {.fd = fd}};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    fds.push_back(fd);
  }
  const std::int64_t ready_by = now_ns() + 60LL * 1000000000;
  std::vector<char> seen_ready(65536 * 4, 0);
  // Bytes of a stream not parsed yet: before `ready`, its response so far; after
  // it, the tail of a line a read cut (most reads end at the end of a line).
  std::unordered_map<int, std::string> partial;
  int ready = 0, closed = 0;
  std::vector<std::uint32_t> lat_us;
  lat_us.reserve(1 << 20);
  long events = 0, bytes = 0;
  char buf[65536];
  epoll_event evs[512];
  bool reported = false;
  while (!g_stop && now_ns() < stop_at_ns) {
    int n = epoll_wait(ep, evs, 512, 100);
    std::int64_t t = now_ns();
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      while (true) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
          if (!seen_ready[fd]) {
            fprintf(stderr, "child %d: a stream was closed before ready\n", child);
            _exit(2);
          }
          epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
          close(fd);
          partial.erase(fd);
          ++closed;
          break;
        }
        if (r < 0) break;
        std::string_view v(buf, r);
        std::string joined;
        if (auto it = partial.find(fd); it != partial.end()) {
          joined = std::move(it->second);
          joined.append(buf, r);
          partial.erase(it);
          v = joined;
        }
        if (!seen_ready[fd]) {
          size_t end = peer.ready_end(v);
          if (end == std::string_view::npos) {
            partial[fd] = std::string(v);
            continue;
          }
          if (v.substr(0, 12) != "HTTP/1.1 200") {
            fprintf(stderr, "child %d: stream answered %.*s\n", child,
                    static_cast<int>(std::min({v.find('\r'), v.size(), size_t{64}})), v.data());
            _exit(2);
          }
          seen_ready[fd] = 1;
          ++ready;
          v.remove_prefix(end);
        }
        size_t last = v.rfind('\n');
        if (last + 1 < v.size() || last == std::string_view::npos) {
          partial[fd] = std::string(v.substr(last == std::string_view::npos ? 0 : last + 1));
        }
        if (last == std::string_view::npos) continue;
        std::string_view lines = v.substr(0, last + 1);
        bytes += lines.size();
        // Each event's data carries its publish time: data: {"t":<ns>,...}; the
        // number ends before the end of its line, so strtol stops inside `lines`.
        for (size_t p = lines.find("\"t\":"); p != std::string_view::npos;
             p = lines.find("\"t\":", p + 4)) {
          std::int64_t sent = std::strtoll(lines.data() + p + 4, nullptr, 10);
          lat_us.push_back(static_cast<std::uint32_t>(std::max<std::int64_t>(0, t - sent) / 1000));
          ++events;
        }
      }
    }
    if (!reported && ready == count) {
      (void)!write(report, "ready\n", 6);
      reported = true;
    }
    if (!reported && t > ready_by) {
      fprintf(stderr, "child %d: %d of %d streams ready after 60 s (%d closed)\n", child, ready,
              count, closed);
      _exit(2);
    }
  }
  std::string out =
      std::to_string(events) + " " + std::to_string(bytes) + " " + std::to_string(closed) + "\n";
  (void)!write(report, out.data(), out.size());
  (void)!write(report, lat_us.data(), lat_us.size() * sizeof(std::uint32_t));
  _exit(0);
}

struct Children {
  std::vector<pid_t> pids;
  std::vector<int> pipes;
  bool ok = true;  // every child reported ready
};

Children spawn_subscribers(const Options& o, const std::vector<int>& ports,
                           std::int64_t stop_at_ns) {
  Children c;
  const Peer peer{o.nchan};
  int remaining = o.streams, child = 0;
  while (remaining > 0) {
    int count = std::min(remaining, o.per_process);
    int p[2];
    if (pipe(p) != 0) exit(1);
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      subscriber_child(peer, ports, o.streams - remaining, count, child, p[1], stop_at_ns);
    }
    close(p[1]);
    c.pids.push_back(pid);
    c.pipes.push_back(p[0]);
    remaining -= count;
    ++child;
  }
  // Wait for every child's "ready" line; on a failure stop the others, so the
  // caller can stop its daemon and return.
  for (int fd : c.pipes) {
    char line[8];
    if (read(fd, line, 6) != 6) {
      fprintf(stderr, "a subscriber process failed before ready\n");
      c.ok = false;
      break;
    }
  }
  if (!c.ok) {
    for (pid_t pid : c.pids) kill(pid, SIGKILL);
    for (pid_t pid : c.pids) waitpid(pid, nullptr, 0);
    for (int fd : c.pipes) close(fd);
  }
  return c;
}

struct Received {
  long events = 0;
  long bytes = 0;   // on the wire after `ready`, summed over every stream
  long closed = 0;  // streams the daemon closed
  std::vector<std::uint32_t> lat;
};

Received collect(Children& c) {
  Received out;
  for (pid_t pid : c.pids) kill(pid, SIGTERM);
  for (int fd : c.pipes) {
    std::string data;
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) data.append(buf, n);
    close(fd);
    auto nl = data.find('\n');
    if (nl == std::string::npos) continue;
    long events = 0, bytes = 0, closed = 0;
    std::istringstream(data.substr(0, nl)) >> events >> bytes >> closed;
    out.events += events;
    out.bytes += bytes;
    out.closed += closed;
    size_t samples = (data.size() - nl - 1) / sizeof(std::uint32_t);
    size_t old = out.lat.size();
    out.lat.resize(old + samples);
    memcpy(out.lat.data() + old, data.data() + nl + 1, samples * sizeof(std::uint32_t));
  }
  for (pid_t pid : c.pids) waitpid(pid, nullptr, 0);
  return out;
}

// Opens one stream from `src`, waits for `ready` (as the peer defines it) and
// closes it. Returns the time from connect() to ready in µs; -1 on an error
// (refused, closed, not 200), -2 if `deadline_ns` passed first.
std::int64_t probe_connect(const Peer& peer, int port, const std::string& src,
                           std::int64_t deadline_ns) {
  const std::int64_t t0 = now_ns();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  auto done = [fd](std::int64_t result) {
    close(fd);
    return result;
  };
  // 1: the event came, 0: the deadline passed, -1: poll failed.
  auto wait_for = [fd, deadline_ns](short events) {
    while (true) {
      std::int64_t left = deadline_ns - now_ns();
      if (left <= 0) return 0;
      pollfd p{fd, events, 0};
      int r = poll(&p, 1, static_cast<int>(left / 1000000) + 1);
      if (r > 0) return 1;
      if (r < 0 && errno != EINTR) return -1;
    }
  };
  sockaddr_in s{};
  s.sin_family = AF_INET;
  inet_pton(AF_INET, src.c_str(), &s.sin_addr);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&s), sizeof s) != 0) return done(-1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
    return done(-1);
  }
  if (int w = wait_for(POLLOUT); w <= 0) return done(w == 0 ? -2 : -1);
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  const std::string req = peer.subscribe_request();
  // A fresh socket's send buffer takes the whole small request at once.
  if (err != 0 || send(fd, req.data(), req.size(), MSG_NOSIGNAL) != ssize_t(req.size())) {
    return done(-1);
  }
  std::string head;
  char buf[4096];
  while (true) {
    if (int w = wait_for(POLLIN); w <= 0) return done(w == 0 ? -2 : -1);
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) return done(-1);
    if (r < 0) continue;
    head.append(buf, r);
    if (peer.ready_end(head) != std::string_view::npos) {
      std::int64_t us = (now_ns() - t0) / 1000;
      return done(head.compare(0, 12, "HTTP/1.1 200") == 0 ? us : -1);
    }
  }
}

struct Probes {
  std::vector<std::uint32_t> us;  // connect -> ready of the probes that got there
  int launched = 0, failed = 0, late = 0;
};

// `n` probes, one at a time, one in each of n equal slots of [start, end): each
// at a random point of its slot (fixed seed), so the probes do not all hit the
// same phase of the publisher's period. None starts after `end`; each has 5 s.
Probes run_probes(const Peer& peer, const std::vector<int>& ports, int n, std::int64_t start,
                  std::int64_t end) {
  Probes out;
  std::mt19937_64 rng(12345);
  const std::int64_t slot = (end - start) / n;
  std::uniform_int_distribution<std::int64_t> offset(0, std::max<std::int64_t>(0, slot - 1));
  for (int k = 0; k < n; ++k) {
    std::int64_t at = start + k * slot + offset(rng);
    if (at > now_ns()) std::this_thread::sleep_for(std::chrono::nanoseconds(at - now_ns()));
    if (now_ns() >= end) break;
    ++out.launched;
    std::string src = "127.0.250." + std::to_string(2 + k % 200);
    std::int64_t r = probe_connect(peer, ports[k % ports.size()], src, now_ns() + 5000000000LL);
    if (r >= 0) {
      out.us.push_back(static_cast<std::uint32_t>(r));
    } else if (r == -2) {
      ++out.late;
    } else {
      ++out.failed;
    }
  }
  return out;
}

double percentile(std::vector<std::uint32_t>& v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k] / 1000.0;
}

// CPU per small write() to loopback TCP sockets whose reader keeps up, written
// round robin over `sockets` connections (1 = one hot socket; many = the kernel
// state of each socket is cold, as in a real fan-out).
double bare_write_floor_us(long writes, size_t message_bytes, int sockets) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(lfd, 4096) != 0) {
    perror("bind");
    exit(1);
  }
  socklen_t len = sizeof a;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  int ready_pipe[2];
  if (pipe(ready_pipe) != 0) return 0;
  pid_t reader = fork();
  if (reader == 0) {
    close(lfd);
    raise_nofile();
    int ep = epoll_create1(0);
    for (int i = 0; i < sockets; ++i) {
      std::string src = "127.0.9." + std::to_string(2 + i % 200);
      int fd = connect_to(port, src);
      if (fd < 0) _exit(2);
      epoll_event ev{EPOLLIN, {.fd = fd}};
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    (void)!write(ready_pipe[1], "r", 1);
    char buf[65536];
    epoll_event evs[512];
    int open_count = sockets;
    while (open_count > 0) {
      int n = epoll_wait(ep, evs, 512, 1000);
      for (int i = 0; i < n; ++i) {
        ssize_t r = read(evs[i].data.fd, buf, sizeof buf);
        if (r == 0) {
          close(evs[i].data.fd);
          --open_count;
        }
      }
    }
    _exit(0);
  }
  std::vector<int> fds;
  for (int i = 0; i < sockets; ++i) {
    int fd = accept(lfd, nullptr, nullptr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fds.push_back(fd);
  }
  char c;
  (void)!read(ready_pipe[0], &c, 1);
  std::string msg(message_bytes, 'x');
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  for (long i = 0; i < writes; ++i) {
    if (write(fds[i % sockets], msg.data(), msg.size()) <= 0) break;
  }
  getrusage(RUSAGE_SELF, &after);
  for (int fd : fds) close(fd);
  close(lfd);
  waitpid(reader, nullptr, 0);
  auto secs = [](const rusage& r) {
    return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  return (secs(after) - secs(before)) * 1e6 / writes;
}

// The daemons a run measures: one started here, or those already on --ports
// (not started or stopped here), with figures from --pids.
struct Daemons {
  bool external = false;
  int port = 0;                 // the first: publishes go here
  pid_t started = 0;            // 0 when external
  std::vector<int> ports;       // subscribers spread over these
  std::vector<pid_t> measured;  // summed in read()

  // CPU, RSS and PSS summed over the measured pids.
  ProcStat read() const {
    ProcStat sum;
    for (pid_t p : measured) {
      ProcStat one = read_proc(p);
      sum.cpu_seconds += one.cpu_seconds;
      sum.rss_kib += one.rss_kib;
      sum.pss_kib += one.pss_kib;
    }
    return sum;
  }
  void stop() const {
    if (!external) stop_daemon(started);
  }
};

Daemons open_daemons(const Options& o) {
  Daemons d;
  d.external = !o.ports.empty();
  d.port = d.external ? o.ports[0] : o.port ? o.port : free_port();
  d.started = d.external ? 0 : start_daemon(o, d.port);
  d.ports = d.external ? o.ports : std::vector<int>{d.port};
  d.measured = d.external ? o.pids : std::vector<pid_t>{d.started};
  return d;
}

int run_idle(const Options& o) {
  const Daemons daemons = open_daemons(o);
  const std::vector<pid_t>& measured = daemons.measured;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ProcStat before = daemons.read();
  auto t0 = now_ns();
  Children c = spawn_subscribers(o, daemons.ports, now_ns() + 600LL * 1000000000);
  if (!c.ok) {
    daemons.stop();
    return 1;
  }
  double open_s = (now_ns() - t0) / 1e9;
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ProcStat after = daemons.read();
  collect(c);
  daemons.stop();
  double per_stream = (after.rss_kib - before.rss_kib) * 1024.0 / o.streams;
  double pss_per_stream = (after.pss_kib - before.pss_kib) * 1024.0 / o.streams;
  std::string over =
      measured.size() > 1 ? " (summed over " + std::to_string(measured.size()) + " pids)" : "";
  printf("peer:                    %s\n", o.nchan ? "nchan" : "ssehub");
  printf("idle streams:            %d (opened in %.2f s, %.0f/s)\n", o.streams, open_s,
         o.streams / open_s);
  printf("daemon RSS before/after: %ld KiB / %ld KiB%s\n", before.rss_kib, after.rss_kib,
         over.c_str());
  printf("daemon PSS before/after: %ld KiB / %ld KiB, anonymous and shared memory%s\n",
         before.pss_kib, after.pss_kib, over.c_str());
  printf("daemon memory per idle stream: %.0f bytes (%.2f KiB)\n", per_stream, per_stream / 1024);
  printf("daemon PSS per idle stream:    %.0f bytes (%.2f KiB), anonymous and shared memory\n",
         pss_per_stream, pss_per_stream / 1024);
  return 0;
}

int run_fanout(const Options& o) {
  const Daemons daemons = open_daemons(o);
  const bool external = daemons.external;
  const int port = daemons.port;
  const std::vector<pid_t>& measured = daemons.measured;
  auto stop_at = now_ns() + (o.seconds + 120LL) * 1000000000;
  Children c = spawn_subscribers(o, daemons.ports, stop_at);
  if (!c.ok) {
    daemons.stop();
    return 1;
  }
  const Peer peer{o.nchan};
  int pub = connect_to(port, "");
  int one = 1;
  setsockopt(pub, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ProcStat cpu0 = daemons.read();
  auto start = now_ns();
  long published = 0;
  long refused = 0;
  std::vector<std::uint32_t> publish_us;
  std::string buf;
  // The prober: new streams opened, one at a time, while the publisher runs.
  Probes probes;
  std::thread prober;
  if (o.probes > 0) {
    const std::vector<int> probe_ports = daemons.ports;
    prober = std::thread([&probes, &peer, probe_ports, &o, start] {
      probes = run_probes(peer, probe_ports, o.probes, start, start + o.seconds * 1000000000LL);
    });
  }
  const std::int64_t interval = static_cast<std::int64_t>(1e9 / o.rate);
  for (std::int64_t next = start; now_ns() - start < o.seconds * 1000000000LL; next += interval) {
    while (now_ns() < next) std::this_thread::sleep_for(std::chrono::microseconds(200));
    std::string req = peer.publish_request(o.batch);
    // Round trip: the request handed to the kernel until its whole response is read.
    std::int64_t sent = now_ns();
    int status = send_all(pub, req) ? read_response(pub, buf) : -1;
    if (status == 503) {
      // Refused (ssehub: the fan-out is too far behind); counted, nothing stored.
      ++refused;
      continue;
    }
    if (!peer.published(status)) {
      fprintf(stderr, "publish failed (status %d)\n", status);
      break;
    }
    publish_us.push_back(static_cast<std::uint32_t>((now_ns() - sent) / 1000));
    published += o.batch;
  }
  if (prober.joinable()) prober.join();  // within 5 s of the publishing's end
  // Let the last events drain, then read the daemon's CPU.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ProcStat cpu1 = daemons.read();
  double elapsed = (now_ns() - start) / 1e9;
  Received got = collect(c);
  const long events = got.events;
  std::vector<std::uint32_t>& lat = got.lat;
  close(pub);
  daemons.stop();
  long expected = published * o.streams;
  if (external) {
    std::string list;
    for (int p : o.ports) list += (list.empty() ? "" : ",") + std::to_string(p);
    printf("daemons:                 %zu already running on ports %s (publishing to %d)\n",
           o.ports.size(), list.c_str(), port);
  }
  printf("peer:                    %s\n", o.nchan ? "nchan" : "ssehub");
  printf("subscribers:             %d\n", o.streams);
  printf("events published:        %ld in requests of %d at %.1f requests/s\n", published, o.batch,
         o.rate);
  printf("publishes refused (503): %ld\n", refused);
  printf("deliveries:              %ld of %ld expected (%.0f/s)\n", events, expected,
         events / elapsed);
  printf("bytes per delivery:      %.1f on the wire, framing included\n",
         got.bytes / std::max(1.0, double(events)));
  if (got.closed) printf("streams closed by the daemon: %ld\n", got.closed);
  printf("latency publish->client: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
         percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 0.999), percentile(lat, 1.0));
  printf("publish round trip:      p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu requests)\n",
         percentile(publish_us, 0.5), percentile(publish_us, 0.99), percentile(publish_us, 1.0),
         publish_us.size());
  if (o.probes > 0) {
    printf(
        "connect to ready while busy: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu of %d probes "
        "ready; %d failed, %d past the 5 s deadline, %d not started)\n",
        percentile(probes.us, 0.5), percentile(probes.us, 0.99), percentile(probes.us, 1.0),
        probes.us.size(), o.probes, probes.failed, probes.late, o.probes - probes.launched);
  }
  if (measured.empty()) {
    // No pids: daemon CPU is unknown, so the floor comparison is skipped too.
    printf("daemon CPU per delivery: skipped (no --pids)\n");
    return events == expected ? 0 : 3;
  }
  double floor1 = bare_write_floor_us(o.writes, 120, 1);
  double floor = bare_write_floor_us(o.writes, 120, std::min(o.streams, 9000));
  double cpu_us = (cpu1.cpu_seconds - cpu0.cpu_seconds) * 1e6 / std::max(1L, events);
  if (external) {
    printf("daemon CPU per delivery: %.2f us (summed over %zu pids)\n", cpu_us, measured.size());
  } else {
    printf("daemon CPU per delivery: %.2f us\n", cpu_us);
  }
  printf("bare write floor:        %.2f us per 120-byte write, one socket\n", floor1);
  printf("bare write floor:        %.2f us per 120-byte write, round robin over %d sockets\n",
         floor, std::min(o.streams, 9000));
  printf("daemon work per delivery above the %d-socket floor: %.2f us (ratio %.2f)\n",
         std::min(o.streams, 9000), cpu_us - floor, cpu_us / floor);
  return events == expected ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  Options o;
  if (argc < 2) {
    fprintf(stderr,
            "usage: %s idle|fanout|floor [--daemon PATH] [--port N] [--streams N] "
            "[--per-process N] [--rate R] [--seconds S] [--writes N] [--threads N] [--batch N] "
            "[--wrap CMD] [--ports P1,P2,... [--pids PID1,PID2,...]] [--peer ssehub|nchan] "
            "[--probe-connects N]\n",
            argv[0]);
    return 2;
  }
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--daemon")
      o.daemon = v;
    else if (k == "--port")
      o.port = std::stoi(v);
    else if (k == "--streams")
      o.streams = std::stoi(v);
    else if (k == "--per-process")
      o.per_process = std::stoi(v);
    else if (k == "--rate")
      o.rate = std::stod(v);
    else if (k == "--seconds")
      o.seconds = std::min(600, std::stoi(v));
    else if (k == "--writes")
      o.writes = std::stol(v);
    else if (k == "--threads")
      o.threads = std::stoi(v);
    else if (k == "--batch")
      o.batch = std::max(1, std::min(1000, std::stoi(v)));
    else if (k == "--wrap")
      o.wrap = v;
    else if (k == "--probe-connects")
      o.probes = std::max(0, std::min(100000, std::stoi(v)));
    else if (k == "--peer" && (v == "ssehub" || v == "nchan"))
      o.nchan = v == "nchan";
    else if (k == "--ports")
      for (long p : parse_list(v)) o.ports.push_back(static_cast<int>(p));
    else if (k == "--pids")
      for (long p : parse_list(v)) o.pids.push_back(static_cast<pid_t>(p));
    else {
      fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  if (o.mode == "floor") {
    printf("bare write floor: %.2f us per 120-byte write, one socket\n",
           bare_write_floor_us(o.writes, 120, 1));
    int n = std::min(o.streams, 9000);
    printf("bare write floor: %.2f us per 120-byte write, round robin over %d sockets\n",
           bare_write_floor_us(o.writes, 120, n), n);
    return 0;
  }
  if (!o.ports.empty() && o.mode != "fanout" && o.mode != "idle") {
    fprintf(stderr, "--ports is for fanout and idle only\n");
    return 2;
  }
  if (!o.ports.empty() && o.mode == "idle" && o.pids.empty()) {
    fprintf(stderr, "idle --ports needs --pids: the memory measured is theirs\n");
    return 2;
  }
  if (o.nchan && (o.ports.empty() || o.batch != 1)) {
    fprintf(stderr, "--peer nchan needs --ports (nginx is started by the caller) and --batch 1\n");
    return 2;
  }
  if (o.daemon.empty() && o.ports.empty()) {
    fprintf(stderr, "--daemon PATH is required\n");
    return 2;
  }
  if (o.mode == "idle") return run_idle(o);
  if (o.mode == "fanout") return run_fanout(o);
  fprintf(stderr, "unknown mode %s\n", o.mode.c_str());
  return 2;
}
