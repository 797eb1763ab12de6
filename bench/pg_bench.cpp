// ssehub_pg_bench: benchmarks of the Postgres event store (store.kind postgres).
// Runs by hand, prints figures; never part of the test suite. It starts a
// throwaway Postgres (tests/support/postgres_server: fsync off, temporary data
// directory, free loopback port) unless --pg-url names one, and the daemon on a
// free loopback port. Traffic goes only to loopback; every phase is bounded in
// time and count; it stops only the processes it started, by their ids.
//
//   ssehub_pg_bench publish --daemon build/ssehub --clients 32,64,128 --batch 1,10 --seconds 10
//   ssehub_pg_bench replay  --daemon build/ssehub --events 1000000 --replays 500 --concurrency 1,16
//   ssehub_pg_bench publish ... --stores postgres       (no memory-store comparison)
//   ssehub_pg_bench publish ... --pg-url postgresql://postgres@127.0.0.1:5432 --pg-pid PID
//
// publish: for each store (postgres, memory), client count and batch size, a
//          fresh daemon (and database) and N keep-alive HTTP/1.1 clients (threads)
//          POSTing /publish back to back for S seconds after a 1 s warm-up: single
//          events (~100 bytes of data) or arrays of B. Reports events/s,
//          requests/s, POST latency p50/p99, events per Postgres commit
//          (ssehub_postgres_commit_batch_size sum/count), CPU of the daemon,
//          Postgres (by connection) and the load generator, and postgres/memory.
// replay:  fills ssehub_events with --events rows over --topics topics by SQL
//          (topic of seq s: s % topics), then times GET /events with
//          Last-Event-ID from sending the request to receiving the last replayed
//          event: full replays (just under replay.limit, the newest events of a
//          topic), truncated replays (from anywhere in the table; until
//          `replay-truncated`) and full replays of a 3-topic stream, each from one
//          client in sequence and from --concurrency clients at once. Reports
//          p50/p99/max and the daemon's ssehub_replay_duration_seconds.
//
// --pg-url: a server (URL without a database) where the bench may CREATE and DROP
// databases named ssehub_bench_*; --pg-pid: its postmaster, to count its CPU.
//
// One file over 400 lines by choice: a hand-run tool whose phases (publish, replay)
// share one set of options and one report, read top to bottom; nothing links it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "postgres_server.hpp"

namespace {

using ssehub::test::free_port;
using ssehub::test::PostgresServer;
using ssehub::test::reap;
using ssehub::test::spawn_process;

struct Options {
  std::string mode;
  std::string daemon;
  std::string pg_url;  // empty: a throwaway server
  pid_t pg_pid = -1;
  int threads = 0;  // daemon reactor threads (server.threads); 0 = its default
  // publish
  std::vector<int> clients{32, 64, 128};
  std::vector<int> batches{1, 10};
  std::vector<std::string> stores{"postgres", "memory"};
  int seconds = 10;
  // replay
  long events = 1000000;
  int topics = 100;
  int replays = 500;
  int limit = 1000;
  std::vector<int> concurrency{1, 16};
  int pad = 60;  // bytes of padding in each filled event's data
};

constexpr int kWarmupMs = 1000;
constexpr int kRecvTimeoutMs = 10000;
constexpr int kReplayPhaseLimitS = 120;
constexpr int kPublishPad = 72;  // makes each published event's data ~100 bytes

volatile sig_atomic_t g_interrupted = 0;

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Sleeps up to `ms`, returning early (false) on SIGINT/SIGTERM.
bool sleep_ms(long ms) {
  const std::int64_t until = now_ns() + ms * 1000000;
  while (!g_interrupted && now_ns() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<long>(ms, 20)));
  }
  return !g_interrupted;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::vector<int> int_list(const std::string& s, int lo, int hi) {
  std::vector<int> out;
  for (const auto& item : split(s)) out.push_back(std::clamp(std::stoi(item), lo, hi));
  return out;
}

// ---------------------------------------------------------------------------
// HTTP over loopback

int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{kRecvTimeoutMs / 1000, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
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

// Reads one response with Content-Length from a keep-alive connection; returns
// its status (-1 on a closed connection or timeout) and, if asked, its body.
int read_response(int fd, std::string& buf, std::string* body = nullptr) {
  while (true) {
    auto end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      auto cl = buf.find("Content-Length: ");
      size_t len = cl != std::string::npos && cl < end ? std::stoul(buf.substr(cl + 16)) : 0;
      if (buf.size() >= end + 4 + len) {
        int status = std::atoi(buf.c_str() + 9);
        if (body) body->assign(buf, end + 4, len);
        buf.erase(0, end + 4 + len);
        return status;
      }
    }
    char tmp[8192];
    ssize_t n = recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return -1;
    buf.append(tmp, n);
  }
}

int http_get(int port, const std::string& path, std::string* body) {
  int fd = connect_to(port);
  if (fd < 0) return -1;
  std::string buf;
  int status = send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: b\r\n\r\n")
                   ? read_response(fd, buf, body)
                   : -1;
  close(fd);
  return status;
}

// ---------------------------------------------------------------------------
// /metrics

using Scrape = std::map<std::string, double>;  // series (name with labels) -> value

Scrape scrape(int port) {
  std::string body;
  Scrape out;
  if (http_get(port, "/metrics", &body) != 200) return out;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return out;
}

double delta(const Scrape& a, const Scrape& b, const std::string& series) {
  auto ia = a.find(series);
  auto ib = b.find(series);
  return (ib == b.end() ? 0 : ib->second) - (ia == a.end() ? 0 : ia->second);
}

// "n=500 mean 4.21 ms; <=2.5ms 10, <=5ms 300, <=10ms 190" for the observations of
// histogram `name` (in seconds) between two scrapes.
std::string histogram_seconds(const Scrape& a, const Scrape& b, const std::string& name) {
  const double count = delta(a, b, name + "_count");
  if (count <= 0) return "n=0";
  char head[128];
  snprintf(head, sizeof head, "n=%.0f mean %.2f ms;", count,
           delta(a, b, name + "_sum") / count * 1000);
  std::string out = head;
  // Cumulative buckets in the order of their bounds.
  std::vector<std::pair<double, double>> buckets;  // (bound, cumulative count)
  const std::string prefix = name + "_bucket{le=\"";
  for (auto it = b.lower_bound(prefix); it != b.end() && it->first.rfind(prefix, 0) == 0; ++it) {
    std::string le = it->first.substr(prefix.size());
    le = le.substr(0, le.find('"'));
    double bound = le == "+Inf" ? 1e300 : std::strtod(le.c_str(), nullptr);
    buckets.emplace_back(bound, delta(a, b, it->first));
  }
  std::sort(buckets.begin(), buckets.end());
  double prev = 0;
  for (const auto& [bound, cumulative] : buckets) {
    double n = cumulative - prev;
    prev = cumulative;
    if (n <= 0) continue;
    char part[64];
    if (bound > 1e299) {
      snprintf(part, sizeof part, " >last %.0f,", n);
    } else {
      snprintf(part, sizeof part, " <=%gms %.0f,", bound * 1000, n);
    }
    out += part;
  }
  out.pop_back();
  return out;
}

// ---------------------------------------------------------------------------
// CPU accounting from /proc

struct ProcTimes {
  double self = 0;      // utime + stime, seconds
  double children = 0;  // cutime + cstime (reaped children), seconds
  pid_t ppid = 0;
  bool alive = false;
};

ProcTimes proc_times(pid_t pid) {
  ProcTimes t;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto rp = text.rfind(')');
  if (rp == std::string::npos || rp + 2 >= text.size()) return t;
  std::istringstream rest(text.substr(rp + 2));
  std::vector<std::string> f;
  std::string field;
  while (rest >> field) f.push_back(field);
  // After pid and comm: [0] state, [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime.
  if (f.size() < 15 || f[0] == "Z") return t;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  t.alive = true;
  t.ppid = static_cast<pid_t>(std::stol(f[1]));
  t.self = (std::stod(f[11]) + std::stod(f[12])) / tick;
  t.children = (std::stod(f[13]) + std::stod(f[14])) / tick;
  return t;
}

// pid -> CPU seconds of `root` and its live descendants; the root also carries the
// CPU of its reaped children, so a backend that exits between two snapshots is
// still counted.
std::map<pid_t, double> tree_cpu(pid_t root) {
  std::map<pid_t, double> out;
  if (root <= 0) return out;
  std::multimap<pid_t, std::pair<pid_t, double>> by_parent;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    ProcTimes t = proc_times(pid);
    if (t.alive) by_parent.emplace(t.ppid, std::make_pair(pid, t.self));
  }
  ProcTimes r = proc_times(root);
  if (!r.alive) return out;
  out[root] = r.self + r.children;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    auto [lo, hi] = by_parent.equal_range(p);
    for (auto it = lo; it != hi; ++it) {
      out[it->second.first] = it->second.second;
      todo.push_back(it->second.first);
    }
  }
  return out;
}

double self_cpu() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

// CPU seconds of the whole machine from /proc/stat: time in processes (user,
// nice, system), in interrupts and softirqs (loopback TCP is processed there and
// sampled outside any process), and stolen by the hypervisor.
struct MachineCpu {
  double tasks = 0;
  double irq = 0;
  double steal = 0;
};

MachineCpu machine_cpu() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  return {(user + nice + system) / tick, (irq + softirq) / tick, steal / tick};
}

struct CpuSnapshot {
  std::int64_t at_ns = 0;
  double daemon = 0;
  double bench = 0;
  MachineCpu machine;
  std::map<pid_t, double> postgres;
};

// ---------------------------------------------------------------------------
// Postgres: a throwaway server or --pg-url

class PgHost {
 public:
  explicit PgHost(const Options& o) {
    if (o.pg_url.empty()) {
      server_ = std::make_unique<PostgresServer>();
      base_ = "postgresql://postgres@127.0.0.1:" + std::to_string(server_->port());
      pid_ = server_->pid();
    } else {
      base_ = o.pg_url;
      while (!base_.empty() && base_.back() == '/') base_.pop_back();
      pid_ = o.pg_pid;
    }
  }

  std::string url(const std::string& db) const { return base_ + "/" + db + "?connect_timeout=5"; }
  pid_t pid() const { return pid_; }
  bool throwaway() const { return server_ != nullptr; }

  std::string create_database(const std::string& db) {
    pqxx::connection c(url("postgres"));
    pqxx::nontransaction n(c);
    n.exec("DROP DATABASE IF EXISTS " + n.quote_name(db));
    n.exec("CREATE DATABASE " + n.quote_name(db));
    return url(db);
  }

  void drop_database(const std::string& db) {
    try {
      pqxx::connection c(url("postgres"));
      pqxx::nontransaction n(c);
      n.exec("DROP DATABASE IF EXISTS " + n.quote_name(db));
    } catch (const std::exception& e) {
      fprintf(stderr, "warning: could not drop database %s: %s\n", db.c_str(), e.what());
    }
  }

 private:
  std::unique_ptr<PostgresServer> server_;
  std::string base_;
  pid_t pid_ = -1;
};

// Which connection each Postgres process serves: the daemon's connections name
// themselves (application_name ssehub-publish, ssehub-follow, ssehub-replay, ...).
std::map<pid_t, std::string> backend_roles(pqxx::connection& c) {
  std::map<pid_t, std::string> out;
  pqxx::nontransaction n(c);
  for (const auto& row :
       n.exec("SELECT pid, CASE WHEN backend_type = 'client backend' THEN "
              "coalesce(nullif(application_name, ''), 'client') ELSE 'background' END "
              "FROM pg_stat_activity")) {
    out[row[0].as<pid_t>()] = row[1].as<std::string>();
  }
  return out;
}

// ---------------------------------------------------------------------------
// The daemon

std::string daemon_log_path() {
  return "/tmp/ssehub_pg_bench." + std::to_string(getpid()) + ".daemon.log";
}

// The environment of a bench daemon: the bench's own, with these settings on top.
std::vector<std::string> daemon_env(const Options& o, int port,
                                    const std::vector<std::pair<std::string, std::string>>& env) {
  std::map<std::string, std::string> set{
      {"SSEHUB_SERVER_LISTEN", "127.0.0.1:" + std::to_string(port)},
      {"SSEHUB_LOG_LEVEL", "warn"},
      {"SSEHUB_STREAM_HEARTBEAT_MS", "600000"},
      {"SSEHUB_SERVER_DRAIN_TIMEOUT_MS", "2000"}};
  if (o.threads) set["SSEHUB_SERVER_THREADS"] = std::to_string(o.threads);
  for (const auto& [k, v] : env) set[k] = v;
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    if (!set.count(entry.substr(0, entry.find('=')))) out.push_back(entry);
  }
  for (const auto& [k, v] : set) out.push_back(k + "=" + v);
  return out;
}

class Daemon {
 public:
  Daemon(const Options& o, const std::vector<std::pair<std::string, std::string>>& env)
      : port_(free_port()) {
    log_path_ = daemon_log_path();
    // In a session of its own (stopped as one group); killed if the bench dies.
    pid_ = spawn_process({o.daemon}, {.name = "ssehub_pg_bench daemon",
                                      .log_path = log_path_,
                                      .env = daemon_env(o, port_, env)});
    // Ready means listening and, with the postgres store, connected and migrated.
    const std::int64_t deadline = now_ns() + 30LL * 1000000000;
    while (now_ns() < deadline && !g_interrupted) {
      if (reap(pid_, std::chrono::milliseconds(0))) {
        pid_ = -1;
        throw std::runtime_error("the daemon exited during start-up; see " + log_path_);
      }
      if (http_get(port_, "/health/ready", nullptr) == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("the daemon was not ready within 30 s; see " + log_path_);
  }

  ~Daemon() { stop(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // SIGTERM to its process group (it drains and exits); SIGKILL after 10 s.
  void stop() {
    if (pid_ <= 0) return;
    kill(-pid_, SIGTERM);
    if (!reap(pid_, std::chrono::seconds(10))) {
      kill(-pid_, SIGKILL);
      reap(pid_, std::chrono::seconds(10));
    }
    pid_ = -1;
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

 private:
  int port_;
  pid_t pid_ = -1;
  std::string log_path_;
};

CpuSnapshot cpu_snapshot(const Daemon& d, pid_t postmaster) {
  CpuSnapshot s;
  s.at_ns = now_ns();
  s.daemon = proc_times(d.pid()).self;
  s.bench = self_cpu();
  s.postgres = tree_cpu(postmaster);
  s.machine = machine_cpu();
  return s;
}

// "daemon 1.05, postgres 0.80 (ssehub-publish 0.55, ...), bench 0.15, other processes 0.00
// (machine busy 2.00, of it irq+softirq 0.10; steal 0.00) cores".
std::string cpu_report(const CpuSnapshot& a, const CpuSnapshot& b,
                       const std::map<pid_t, std::string>& roles, pid_t postmaster) {
  const double wall = (b.at_ns - a.at_ns) / 1e9;
  std::map<std::string, double> by_role;
  double pg_total = 0;
  for (const auto& [pid, cpu] : b.postgres) {
    auto before = a.postgres.find(pid);
    double used = cpu - (before == a.postgres.end() ? 0 : before->second);
    pg_total += used;
    auto role = roles.find(pid);
    by_role[pid == postmaster     ? "postmaster+exited"
            : role != roles.end() ? role->second
                                  : "other"] += used;
  }
  char buf[160];
  snprintf(buf, sizeof buf, "daemon %.2f, ", (b.daemon - a.daemon) / wall);
  std::string out = buf;
  if (!b.postgres.empty()) {
    snprintf(buf, sizeof buf, "postgres %.2f (", pg_total / wall);
    out += buf;
    std::vector<std::pair<double, std::string>> sorted;
    for (const auto& [role, cpu] : by_role) sorted.emplace_back(cpu, role);
    std::sort(sorted.rbegin(), sorted.rend());
    bool first = true;
    for (const auto& [cpu, role] : sorted) {
      if (cpu / wall < 0.005) continue;
      snprintf(buf, sizeof buf, "%s%s %.2f", first ? "" : ", ", role.c_str(), cpu / wall);
      out += buf;
      first = false;
    }
    out += "), ";
  }
  const double bench = b.bench - a.bench;
  // Ticks spent in softirqs are also in the stime of the process they interrupted.
  const double busy = b.machine.tasks + b.machine.irq - a.machine.tasks - a.machine.irq;
  const double other = std::max(0.0, busy - (b.daemon - a.daemon) - pg_total - bench);
  snprintf(buf, sizeof buf,
           "bench %.2f, other processes %.2f (machine busy %.2f, of it irq+softirq %.2f; "
           "steal %.2f) cores",
           bench / wall, other / wall, busy / wall, (b.machine.irq - a.machine.irq) / wall,
           (b.machine.steal - a.machine.steal) / wall);
  return out + buf;
}

double percentile_ms(std::vector<std::uint32_t> v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1,
                      static_cast<size_t>(std::lround(q * static_cast<double>(v.size() - 1))));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k] / 1000.0;
}

// ---------------------------------------------------------------------------
// publish

struct ClientStats {
  long responses = 0;  // 201s received inside the measured window
  long errors = 0;     // anything else, inside or outside it
  int first_error = 0;
  std::vector<std::uint32_t> lat_us;  // of requests sent and answered inside it
};

// 0 warm-up, 1 measured, 2 stop.
void publish_client(int port, int id, int batch, const std::atomic<int>& phase, ClientStats& st) {
  std::mt19937 rng(id);
  int fd = -1;
  std::string buf;
  const std::string pad(kPublishPad, 'p');
  long n = 0;
  while (phase.load(std::memory_order_relaxed) < 2) {
    if (fd < 0) {
      fd = connect_to(port);
      buf.clear();
      if (fd < 0) {
        ++st.errors;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
    }
    std::string body = batch > 1 ? "[" : "";
    for (int b = 0; b < batch; ++b) {
      body += std::string(b ? "," : "") +
              "{\"topic\":\"bench\",\"type\":\"t\",\"data\":{\"c\":" + std::to_string(id) +
              ",\"n\":" + std::to_string(++n) + ",\"pad\":\"" + pad + "\"}}";
    }
    if (batch > 1) body += "]";
    std::string req =
        "POST /publish HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    const int sent_phase = phase.load(std::memory_order_relaxed);
    const std::int64_t t0 = now_ns();
    int status = send_all(fd, req) ? read_response(fd, buf) : -1;
    const std::int64_t t1 = now_ns();
    const int done_phase = phase.load(std::memory_order_relaxed);
    if (status != 201) {
      ++st.errors;
      if (!st.first_error) st.first_error = status;
      if (status < 0) {
        close(fd);
        fd = -1;
      }
      continue;
    }
    if (done_phase == 1) {
      ++st.responses;
      if (sent_phase == 1) st.lat_us.push_back(static_cast<std::uint32_t>((t1 - t0) / 1000));
    }
  }
  if (fd >= 0) close(fd);
}

struct PublishRun {
  std::string store;
  int clients = 0;
  int batch = 0;
  double seconds = 0;
  long requests = 0;
  long errors = 0;
  double p50 = 0, p99 = 0;
  double commit_mean = 0;  // events per commit
  double commit_ms = 0;    // mean commit duration
  double commits_per_s = 0;
  std::string cpu;

  double events_per_s() const { return requests * batch / seconds; }
};

PublishRun run_publish(const Options& o, PgHost* pg, const std::string& store, int clients,
                       int batch, int run_index) {
  PublishRun r;
  r.store = store;
  r.clients = clients;
  r.batch = batch;
  std::vector<std::pair<std::string, std::string>> env{{"SSEHUB_STORE_KIND", store}};
  const std::string db = "ssehub_bench_publish_" + std::to_string(run_index);
  std::unique_ptr<pqxx::connection> observer;
  if (store == "postgres") {
    env.emplace_back("SSEHUB_STORE_POSTGRES_URL", pg->create_database(db));
    observer = std::make_unique<pqxx::connection>(pg->url(db));
  }
  {
    Daemon d(o, env);
    const pid_t postmaster = store == "postgres" ? pg->pid() : -1;
    std::atomic<int> phase{0};
    std::vector<ClientStats> stats(clients);
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i) {
      threads.emplace_back(publish_client, d.port(), i, batch, std::cref(phase),
                           std::ref(stats[i]));
    }
    sleep_ms(kWarmupMs);
    const Scrape m0 = scrape(d.port());
    const CpuSnapshot c0 = cpu_snapshot(d, postmaster);
    phase = 1;
    sleep_ms(o.seconds * 1000L);
    phase = 2;
    const CpuSnapshot c1 = cpu_snapshot(d, postmaster);
    const Scrape m1 = scrape(d.port());
    std::map<pid_t, std::string> roles;
    if (observer) roles = backend_roles(*observer);
    for (auto& t : threads) t.join();
    r.seconds = (c1.at_ns - c0.at_ns) / 1e9;
    std::vector<std::uint32_t> lat;
    int first_error = 0;
    for (auto& s : stats) {
      r.requests += s.responses;
      r.errors += s.errors;
      if (!first_error) first_error = s.first_error;
      lat.insert(lat.end(), s.lat_us.begin(), s.lat_us.end());
    }
    r.p50 = percentile_ms(lat, 0.5);
    r.p99 = percentile_ms(lat, 0.99);
    const double commits = delta(m0, m1, "ssehub_postgres_commit_batch_size_count");
    if (commits > 0) {
      r.commit_mean = delta(m0, m1, "ssehub_postgres_commit_batch_size_sum") / commits;
      r.commit_ms = delta(m0, m1, "ssehub_postgres_commit_duration_seconds_sum") / commits * 1000;
      r.commits_per_s = commits / r.seconds;
    }
    r.cpu = cpu_report(c0, c1, roles, postmaster);
    printf(
        "%-8s clients %3d batch %2d: %8.0f events/s %7.0f requests/s  POST p50 %6.2f ms p99 "
        "%7.2f ms  errors %ld%s\n",
        store.c_str(), clients, batch, r.events_per_s(), r.requests / r.seconds, r.p50, r.p99,
        r.errors,
        first_error ? (" (first: status " + std::to_string(first_error) + ")").c_str() : "");
    if (commits > 0) {
      printf(
          "         commits %.0f/s, %.1f events per commit (ssehub_postgres_commit_batch_size "
          "sum/count), commit %.2f ms mean\n",
          r.commits_per_s, r.commit_mean, r.commit_ms);
    }
    printf("         CPU (cores of %ld): %s\n", sysconf(_SC_NPROCESSORS_ONLN), r.cpu.c_str());
  }
  observer.reset();
  if (store == "postgres") pg->drop_database(db);
  return r;
}

int run_publish_mode(const Options& o) {
  std::unique_ptr<PgHost> pg;
  if (std::find(o.stores.begin(), o.stores.end(), "postgres") != o.stores.end()) {
    pg = std::make_unique<PgHost>(o);
    printf("postgres: %s\n", pg->throwaway() ? "throwaway server (fsync=off, full_page_writes=off, "
                                               "shared_buffers=128MB)"
                                             : o.pg_url.c_str());
  }
  printf("publish: %d s per run after a %d ms warm-up; ~100-byte data per event\n", o.seconds,
         kWarmupMs);
  std::vector<PublishRun> runs;
  int index = 0;
  for (int batch : o.batches) {
    for (int clients : o.clients) {
      for (const auto& store : o.stores) {
        if (g_interrupted) break;
        runs.push_back(run_publish(o, pg.get(), store, clients, batch, index++));
      }
    }
  }
  printf(
      "\n| store | clients | events/request | events/s | requests/s | POST p50 | POST p99 | "
      "events/commit | vs memory | vs 20,000/s |\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& r : runs) {
    const PublishRun* mem = nullptr;
    for (const auto& m : runs) {
      if (m.store == "memory" && m.clients == r.clients && m.batch == r.batch) mem = &m;
    }
    char vs_mem[32] = "";
    if (mem && r.store != "memory") {
      snprintf(vs_mem, sizeof vs_mem, "%.2f", r.events_per_s() / mem->events_per_s());
    }
    char per_commit[32] = "";
    if (r.commit_mean > 0) snprintf(per_commit, sizeof per_commit, "%.1f", r.commit_mean);
    printf("| %s | %d | %d | %.0f | %.0f | %.2f ms | %.2f ms | %s | %s | %.2f |\n", r.store.c_str(),
           r.clients, r.batch, r.events_per_s(), r.requests / r.seconds, r.p50, r.p99, per_commit,
           vs_mem, r.events_per_s() / 20000);
  }
  return g_interrupted ? 130 : 0;
}

// ---------------------------------------------------------------------------
// replay

struct ReplayOutcome {
  bool ok = false;
  std::string error;
  std::uint32_t us = 0;
  long events = 0;
};

// What one replay must deliver: `count` events ending with `last_id`, or
// `replay-truncated` (truncated).
struct Expect {
  bool truncated = false;
  long count = 0;
  std::string last_id;
};

std::string field(std::string_view frame, std::string_view name) {
  for (size_t p = 0; p < frame.size();) {
    size_t e = frame.find('\n', p);
    if (e == std::string_view::npos) e = frame.size();
    std::string_view line = frame.substr(p, e - p);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ':') {
      size_t v = name.size() + 1;
      if (v < line.size() && line[v] == ' ') ++v;
      return std::string(line.substr(v));
    }
    p = e + 1;
  }
  return "";
}

// Opens a stream with Last-Event-ID and reads until the replay is complete; the
// time runs from sending the request to receiving the last replayed event.
ReplayOutcome replay_once(int port, const std::vector<int>& topics, const std::string& last_id,
                          const Expect& expect) {
  ReplayOutcome out;
  int fd = connect_to(port);
  if (fd < 0) {
    out.error = "connect failed";
    return out;
  }
  std::string req = "GET /events?";
  for (size_t i = 0; i < topics.size(); ++i) {
    req += (i ? "&topic=topic-" : "topic=topic-") + std::to_string(topics[i]);
  }
  req += " HTTP/1.1\r\nHost: b\r\nLast-Event-ID: " + last_id + "\r\n\r\n";
  std::string buf;
  buf.reserve(256 * 1024);
  const std::int64_t t0 = now_ns();
  if (!send_all(fd, req)) {
    close(fd);
    out.error = "send failed";
    return out;
  }
  size_t pos = std::string::npos;  // start of the next frame, once the head is read
  bool done = false;
  char tmp[65536];
  while (!done) {
    ssize_t n = recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) {
      out.error = n == 0 ? "stream closed early" : "timed out";
      break;
    }
    buf.append(tmp, n);
    if (pos == std::string::npos) {
      auto end = buf.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      if (buf.compare(0, 12, "HTTP/1.1 200") != 0) {
        out.error = "status " + buf.substr(9, 3);
        break;
      }
      pos = end + 4;
    }
    for (size_t e; !done && (e = buf.find("\n\n", pos)) != std::string::npos; pos = e + 2) {
      std::string_view frame(buf.data() + pos, e - pos);
      const std::string event = field(frame, "event");
      if (event == "t") {
        ++out.events;
        if (!expect.truncated && out.events == expect.count) {
          done = true;
          out.ok = field(frame, "id") == expect.last_id;
          if (!out.ok)
            out.error = "last event is " + field(frame, "id") + ", not " + expect.last_id;
        }
      } else if (event == "replay-truncated" || event == "replay-failed") {
        done = true;
        out.ok = expect.truncated && event == "replay-truncated" && out.events == 0;
        if (!out.ok) out.error = event + " " + field(frame, "data");
      }
    }
  }
  out.us = static_cast<std::uint32_t>((now_ns() - t0) / 1000);
  close(fd);
  return out;
}

// Topic k holds the seqs s in [1, head] with s % topics == k.
long topic_count_through(long x, int k, int topics) {
  if (x <= 0) return 0;
  if (k == 0) return x / topics;
  return x >= k ? (x - k) / topics + 1 : 0;
}

long topic_last_seq(long head, int k, int topics) {
  return head - ((head - k) % topics + topics) % topics;
}

struct ReplaySet {
  std::string name;
  int stream_topics = 1;
  bool truncated = false;
};

struct ReplayCase {
  std::vector<int> topics;
  std::string last_id;
  Expect expect;
};

ReplayCase make_case(const Options& o, const ReplaySet& set, const std::string& epoch,
                     std::mt19937_64& rng) {
  ReplayCase c;
  std::uniform_int_distribution<int> topic(0, o.topics - 1);
  while (static_cast<int>(c.topics.size()) < set.stream_topics) {
    int k = topic(rng);
    if (std::find(c.topics.begin(), c.topics.end(), k) == c.topics.end()) c.topics.push_back(k);
  }
  const long head = o.events;
  const long per_topic = o.limit / set.stream_topics;  // full replays: at most this per topic
  long after = 0;
  if (set.truncated) {
    // Anywhere, as long as more than `limit` events follow on the first topic.
    after = std::uniform_int_distribution<long>(0, head - long(o.limit + 1) * o.topics)(rng);
  } else {
    after = head - per_topic * o.topics + std::uniform_int_distribution<long>(0, o.topics - 1)(rng);
  }
  c.last_id = epoch + "-" + std::to_string(after);
  c.expect.truncated = set.truncated;
  long last = 0;
  for (int k : c.topics) {
    c.expect.count +=
        topic_count_through(head, k, o.topics) - topic_count_through(after, k, o.topics);
    last = std::max(last, topic_last_seq(head, k, o.topics));
  }
  c.expect.last_id = epoch + "-" + std::to_string(last);
  return c;
}

struct ReplayRow {
  std::string set;
  int concurrency = 0;
  long replays = 0;
  long failures = 0;
  double events_mean = 0;
  double p50 = 0, p99 = 0, max = 0;
  std::string daemon_hist;
};

ReplayRow run_replay_phase(const Options& o, const Daemon& d, pid_t postmaster,
                           pqxx::connection& observer, const ReplaySet& set, int concurrency,
                           const std::string& epoch, unsigned seed) {
  ReplayRow row;
  row.set = set.name;
  row.concurrency = concurrency;
  std::mt19937_64 rng(seed);
  // Warm-up, not counted: every replay thread opens its connection.
  const int warmup = std::max(16, 2 * concurrency);
  std::vector<ReplayCase> cases;
  for (int i = 0; i < warmup + o.replays; ++i) cases.push_back(make_case(o, set, epoch, rng));
  std::vector<ReplayOutcome> results(cases.size());
  std::atomic<int> next{0};
  const std::int64_t phase_deadline = now_ns() + kReplayPhaseLimitS * 1000000000LL;
  auto worker = [&](int end) {
    while (!g_interrupted && now_ns() < phase_deadline) {
      const int i = next.fetch_add(1);
      if (i >= end) break;
      results[i] = replay_once(d.port(), cases[i].topics, cases[i].last_id, cases[i].expect);
    }
  };
  auto run_range = [&](int first, int end) {
    next = first;
    std::vector<std::thread> threads;
    for (int t = 0; t < concurrency; ++t) threads.emplace_back(worker, end);
    for (auto& t : threads) t.join();
  };
  run_range(0, warmup);
  const Scrape m0 = scrape(d.port());
  const CpuSnapshot c0 = cpu_snapshot(d, postmaster);
  run_range(warmup, warmup + o.replays);
  const CpuSnapshot c1 = cpu_snapshot(d, postmaster);
  const Scrape m1 = scrape(d.port());
  std::vector<std::uint32_t> lat;
  long events = 0;
  std::string first_error;
  for (int i = warmup; i < warmup + o.replays; ++i) {
    const auto& r = results[i];
    if (r.us == 0 && r.error.empty()) continue;  // not run (deadline or interrupted)
    ++row.replays;
    if (!r.ok) {
      ++row.failures;
      if (first_error.empty()) first_error = r.error;
      continue;
    }
    lat.push_back(r.us);
    events += r.events;
  }
  row.events_mean = lat.empty() ? 0 : double(events) / lat.size();
  row.p50 = percentile_ms(lat, 0.5);
  row.p99 = percentile_ms(lat, 0.99);
  row.max = percentile_ms(lat, 1.0);
  row.daemon_hist = histogram_seconds(m0, m1, "ssehub_replay_duration_seconds");
  const double wall = (c1.at_ns - c0.at_ns) / 1e9;
  printf("%-22s concurrency %2d: %ld replays (%.0f/s), %ld failed%s%s; %.0f events each\n",
         set.name.c_str(), concurrency, row.replays, row.replays / wall, row.failures,
         first_error.empty() ? "" : ", first: ", first_error.c_str(), row.events_mean);
  printf("         client: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", row.p50, row.p99, row.max);
  printf("         daemon ssehub_replay_duration_seconds: %s\n", row.daemon_hist.c_str());
  printf(
      "         outcomes: deliver %.0f, truncated(limit) %.0f, failed %.0f\n",
      delta(m0, m1, "ssehub_replay_outcomes_total{outcome=\"deliver\",reason=\"none\"}"),
      delta(m0, m1, "ssehub_replay_outcomes_total{outcome=\"truncated\",reason=\"limit\"}"),
      delta(m0, m1, "ssehub_replay_outcomes_total{outcome=\"failed\",reason=\"timeout\"}") +
          delta(m0, m1, "ssehub_replay_outcomes_total{outcome=\"failed\",reason=\"busy\"}") +
          delta(m0, m1, "ssehub_replay_outcomes_total{outcome=\"failed\",reason=\"unavailable\"}") +
          delta(m0, m1, "ssehub_replay_outcomes_total{outcome=\"failed\",reason=\"error\"}"));
  printf("         CPU (cores of %ld): %s\n", sysconf(_SC_NPROCESSORS_ONLN),
         cpu_report(c0, c1, backend_roles(observer), postmaster).c_str());
  return row;
}

int run_replay_mode(const Options& o) {
  if (o.events < long(o.limit + 1) * o.topics) {
    fprintf(stderr, "--events must be at least (limit + 1) * topics\n");
    return 2;
  }
  PgHost pg(o);
  const std::string db = "ssehub_bench_replay";
  const std::string url = pg.create_database(db);
  const std::vector<std::pair<std::string, std::string>> env{
      {"SSEHUB_STORE_KIND", "postgres"},
      {"SSEHUB_STORE_POSTGRES_URL", url},
      {"SSEHUB_REPLAY_LIMIT", std::to_string(o.limit)}};
  printf("postgres: %s\n", pg.throwaway() ? "throwaway server (fsync=off, full_page_writes=off, "
                                            "shared_buffers=128MB)"
                                          : o.pg_url.c_str());
  int rc = 0;
  try {
    // The daemon creates the schema; it is stopped while the table is filled, so
    // that its log follower starts at the new head instead of reading every row.
    { Daemon schema(o, env); }
    {
      pqxx::connection c(url);
      pqxx::nontransaction n(c);
      n.exec("SET statement_timeout = '600s'");
      std::int64_t t0 = now_ns();
      n.exec(
          "INSERT INTO ssehub_events (seq, topic, type, data) "
          "SELECT s, 'topic-' || (s % " +
          std::to_string(o.topics) +
          "), 't', "
          "jsonb_build_object('n', s, 'pad', repeat('x', " +
          std::to_string(o.pad) +
          ")) "
          "FROM generate_series(1, " +
          std::to_string(o.events) + ") AS s");
      n.exec("UPDATE ssehub_meta SET head_seq = " + std::to_string(o.events) + " WHERE id = 1");
      std::int64_t t1 = now_ns();
      // Sets hint bits and the statistics, as the steady state would have them.
      n.exec("VACUUM (ANALYZE) ssehub_events");
      std::int64_t t2 = now_ns();
      auto size = n.exec1(
          "SELECT pg_size_pretty(pg_total_relation_size('ssehub_events')), "
          "(SELECT length(data::text) FROM ssehub_events WHERE seq = 1)");
      printf(
          "filled %ld events over %d topics in %.1f s (VACUUM ANALYZE %.1f s); table with "
          "indexes %s, %s bytes of data per event\n",
          o.events, o.topics, (t1 - t0) / 1e9, (t2 - t1) / 1e9, size[0].c_str(), size[1].c_str());
    }
    Daemon d(o, env);
    pqxx::connection observer(url);
    const std::string epoch = [&] {
      pqxx::nontransaction n(observer);
      return n.exec1("SELECT epoch FROM ssehub_meta WHERE id = 1")[0].as<std::string>();
    }();
    printf("replay.limit %d, replay.max_concurrent %.0f; %d replays per row after a warm-up\n",
           o.limit, scrape(d.port())["ssehub_postgres_replay_pool_size"], o.replays);
    const std::vector<ReplaySet> sets{
        {"full, 1 topic", 1, false}, {"truncated, 1 topic", 1, true}, {"full, 3 topics", 3, false}};
    std::vector<ReplayRow> rows;
    unsigned seed = 1;
    for (const auto& set : sets) {
      for (int c : o.concurrency) {
        if (g_interrupted) break;
        rows.push_back(run_replay_phase(o, d, pg.pid(), observer, set, c, epoch, seed++));
      }
    }
    printf(
        "\n| replay | concurrent clients | replays | events delivered | p50 | p99 | max | "
        "p99 vs 50 ms |\n|---|---|---|---|---|---|---|---|\n");
    for (const auto& r : rows) {
      printf("| %s | %d | %ld%s | %.0f | %.2f ms | %.2f ms | %.2f ms | %.2f |\n", r.set.c_str(),
             r.concurrency, r.replays,
             r.failures ? (" (" + std::to_string(r.failures) + " failed)").c_str() : "",
             r.events_mean, r.p50, r.p99, r.max, r.p99 / 50);
      if (r.failures) rc = 3;
    }
  } catch (...) {
    pg.drop_database(db);
    throw;
  }
  pg.drop_database(db);
  return g_interrupted ? 130 : rc;
}

// The daemons log at warn and above to one file; an empty one is removed.
void report_daemon_log() {
  const std::string path = daemon_log_path();
  std::ifstream in(path);
  if (!in) return;
  long lines = 0;
  std::string line;
  while (std::getline(in, line)) ++lines;
  if (lines == 0) {
    std::filesystem::remove(path);
    return;
  }
  printf("daemon log (warn and above): %ld lines in %s\n", lines, path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  Options o;
  if (argc < 2) {
    fprintf(stderr,
            "usage: %s publish|replay --daemon PATH [--threads N] [--pg-url URL [--pg-pid PID]]\n"
            "  publish: [--clients 32,64,128] [--batch 1,10] [--seconds 10] "
            "[--stores postgres,memory]\n"
            "  replay:  [--events 1000000] [--topics 100] [--replays 500] [--limit 1000] "
            "[--concurrency 1,16] [--pad 60]\n",
            argv[0]);
    return 2;
  }
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--daemon")
      o.daemon = v;
    else if (k == "--threads")
      o.threads = std::stoi(v);
    else if (k == "--pg-url")
      o.pg_url = v;
    else if (k == "--pg-pid")
      o.pg_pid = std::stoi(v);
    else if (k == "--clients")
      o.clients = int_list(v, 1, 1000);
    else if (k == "--batch")
      o.batches = int_list(v, 1, 1000);
    else if (k == "--seconds")
      o.seconds = std::clamp(std::stoi(v), 1, 600);
    else if (k == "--stores")
      o.stores = split(v);
    else if (k == "--events")
      o.events = std::clamp(std::stol(v), 1L, 100000000L);
    else if (k == "--topics")
      o.topics = std::clamp(std::stoi(v), 3, 10000);
    else if (k == "--replays")
      o.replays = std::clamp(std::stoi(v), 1, 100000);
    else if (k == "--limit")
      o.limit = std::clamp(std::stoi(v), 3, 100000);
    else if (k == "--concurrency")
      o.concurrency = int_list(v, 1, 256);
    else if (k == "--pad")
      o.pad = std::clamp(std::stoi(v), 0, 100000);
    else {
      fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  for (const auto& s : o.stores) {
    if (s != "postgres" && s != "memory") {
      fprintf(stderr, "--stores takes postgres and/or memory\n");
      return 2;
    }
  }
  if (o.daemon.empty()) {
    fprintf(stderr, "--daemon PATH is required\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  // SIGINT/SIGTERM end the current phase early; the daemon and Postgres are then
  // stopped as usual.
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_interrupted = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  if (o.mode != "publish" && o.mode != "replay") {
    fprintf(stderr, "unknown mode %s\n", o.mode.c_str());
    return 2;
  }
  int rc = 1;
  try {
    rc = o.mode == "publish" ? run_publish_mode(o) : run_replay_mode(o);
  } catch (const std::exception& e) {
    fprintf(stderr, "ssehub_pg_bench: %s\n", e.what());
  }
  report_daemon_log();
  return rc;
}
