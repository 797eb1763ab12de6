#include "postgres_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <postgresql/libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ssehub::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kStartTimeout{30000};
constexpr milliseconds kStopTimeout{30000};
constexpr milliseconds kInitdbTimeout{120000};
constexpr milliseconds kSignalTimeout{5000};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail(const std::string& text, std::size_t n = 4000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

std::string find_bin_dir() {
  const fs::path root = "/usr/lib/postgresql";
  std::error_code ec;
  int best = -1;
  std::string dir;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    char* end = nullptr;
    long version = std::strtol(name.c_str(), &end, 10);
    if (end == name.c_str() || *end != '\0' || version <= best) continue;
    if (!fs::exists(entry.path() / "bin" / "postgres", ec)) continue;
    best = static_cast<int>(version);
    dir = (entry.path() / "bin").string();
  }
  if (dir.empty()) throw std::runtime_error("no PostgreSQL server under /usr/lib/postgresql/*/bin");
  return dir;
}

std::uint16_t pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct User {
  uid_t uid;
  gid_t gid;
};

User postgres_user() {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r("postgres", &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    throw std::runtime_error("no `postgres` OS user");
  }
  return {pw.pw_uid, pw.pw_gid};
}

[[noreturn]] void child_fail(const char* what) {
  const char prefix[] = "postgres_server: child setup failed: ";
  ssize_t ignored = ::write(2, prefix, sizeof prefix - 1);
  ignored = ::write(2, what, std::strlen(what));
  ignored = ::write(2, "\n", 1);
  (void)ignored;
  _exit(127);
}

// Runs `args` as the postgres user in a new session, output appended to `log_path`.
pid_t spawn_as_postgres(const std::vector<std::string>& args, const std::string& log_path,
                        const std::string& cwd) {
  const User user = postgres_user();
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  static const char* const env[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC", nullptr};
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid == 0) {
    // Async-signal-safe calls only: the test process may have other threads.
    if (::setsid() < 0) child_fail("setsid");
    if (::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) {
      child_fail("dup2");
    }
    ::close_range(3, ~0U, 0);
    if (::setgroups(0, nullptr) != 0 || ::setgid(user.gid) != 0 || ::setuid(user.uid) != 0) {
      child_fail("switching to the postgres user");
    }
    // After setuid, which clears it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(127);
    if (::chdir(cwd.c_str()) != 0) child_fail("chdir");
    ::execve(argv[0], argv.data(), const_cast<char* const*>(env));
    child_fail("execve");
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) throw std::runtime_error("fork failed");
  return pid;
}

// Reaps `pid`; false if it is still running after `timeout`. `status` gets the wait status.
bool wait_exit(pid_t pid, milliseconds timeout, int* status = nullptr) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      if (status) *status = r == pid ? st : 0;
      return true;
    }
    if (r < 0 && errno != EINTR) return false;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

// (state, ppid) from /proc/PID/stat; state 0 if the process is gone.
std::pair<char, pid_t> proc_stat(pid_t pid) {
  const std::string text = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = text.rfind(')');
  if (paren == std::string::npos || paren + 4 >= text.size()) return {0, 0};
  char state = text[paren + 2];
  long ppid = std::strtol(text.c_str() + paren + 4, nullptr, 10);
  return {state, static_cast<pid_t>(ppid)};
}

// All live descendants of `root`. Postgres children call setsid() themselves, so the
// process group of the postmaster does not reach them.
std::vector<pid_t> descendants(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    auto [state, ppid] = proc_stat(pid);
    if (state != 0 && state != 'Z') children.emplace(ppid, pid);
  }
  std::vector<pid_t> out;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    auto [lo, hi] = children.equal_range(p);
    for (auto it = lo; it != hi; ++it) {
      out.push_back(it->second);
      todo.push_back(it->second);
    }
  }
  return out;
}

// Waits until every pid is in one of `states` (0 = gone, 'Z' counts as gone).
bool wait_states(const std::vector<pid_t>& pids, const std::string& states, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    bool all = true;
    for (pid_t p : pids) {
      char s = proc_stat(p).first;
      if (s == 'Z') s = 0;
      if (states.find(s) == std::string::npos) all = false;
    }
    if (all) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

// Stops `pid` and waits until it is stopped, so it is not inside fork().
void stop_process(pid_t pid) {
  ::kill(pid, SIGSTOP);
  wait_states({pid}, std::string("tT\0", 3), kSignalTimeout);
}

std::string percent_encode(const std::string& s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

PostgresServer::PostgresServer() : bin_dir_(find_bin_dir()), port_(pick_free_port()) {
  char tmpl[] = "/tmp/ssehub-pg-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  data_dir_ = dir_ + "/data";
  log_path_ = dir_ + "/server.log";
  try {
    const User user = postgres_user();
    if (::chown(dir_.c_str(), user.uid, user.gid) != 0) {
      throw std::runtime_error("cannot chown " + dir_ + " to postgres");
    }
    pid_t pid = spawn_as_postgres({bin_dir_ + "/initdb", "-D", data_dir_, "-U", "postgres",
                                   "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"},
                                  log_path_, dir_);
    int status = 0;
    if (!wait_exit(pid, kInitdbTimeout, &status)) {
      ::kill(pid, SIGKILL);
      wait_exit(pid, kSignalTimeout);
      throw std::runtime_error("initdb timed out:\n" + tail(log()));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      throw std::runtime_error("initdb failed:\n" + tail(log()));
    }
    start();
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

PostgresServer::~PostgresServer() {
  try {
    stop();
  } catch (...) {
    try {
      kill_hard();
    } catch (...) {
    }
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void PostgresServer::start() {
  if (pid_ > 0) return;
  const std::string port = std::to_string(port_);
  // fsync off survives a killed server (the kernel keeps its writes); commits stay
  // synchronous, so no commit the server confirmed is lost when it is killed.
  pid_ = spawn_as_postgres(
      {bin_dir_ + "/postgres", "-D", data_dir_, "-p", port, "-c", "listen_addresses=127.0.0.1",
       "-c", "unix_socket_directories=" + dir_, "-c", "fsync=off", "-c", "full_page_writes=off",
       "-c", "max_connections=300", "-c", "shared_buffers=128MB"},
      log_path_, dir_);
  const std::string conninfo =
      "host=127.0.0.1 port=" + port + " user=postgres dbname=postgres connect_timeout=1";
  const auto deadline = Clock::now() + kStartTimeout;
  while (Clock::now() < deadline) {
    if (wait_exit(pid_, milliseconds(0))) {
      pid_ = -1;
      throw std::runtime_error("postgres exited during startup:\n" + tail(log()));
    }
    if (PQping(conninfo.c_str()) == PQPING_OK) return;
    std::this_thread::sleep_for(milliseconds(20));
  }
  kill_hard();
  throw std::runtime_error("postgres did not accept connections within 30 s:\n" + tail(log()));
}

void PostgresServer::stop() {
  if (pid_ <= 0) return;
  resume();
  ::kill(pid_, SIGINT);
  if (wait_exit(pid_, kStopTimeout)) {
    pid_ = -1;
    return;
  }
  kill_hard();
}

void PostgresServer::kill_hard() {
  if (pid_ <= 0) return;
  stop_process(pid_);
  const std::vector<pid_t> children = descendants(pid_);
  for (pid_t p : children) ::kill(p, SIGKILL);
  ::kill(-pid_, SIGKILL);
  const bool reaped = wait_exit(pid_, kStopTimeout);
  const pid_t pid = pid_;
  pid_ = -1;
  paused_.clear();
  if (!reaped) throw std::runtime_error("postmaster " + std::to_string(pid) + " survived SIGKILL");
  // Orphaned children must be gone before a new postmaster reuses the data directory.
  if (!wait_states(children, std::string("\0", 1), kStopTimeout)) {
    throw std::runtime_error("postgres children survived SIGKILL");
  }
  std::error_code ec;
  fs::remove(data_dir_ + "/postmaster.pid", ec);
}

void PostgresServer::pause() {
  if (pid_ <= 0 || !paused_.empty()) return;
  // The postmaster first, so it forks no child the scan would miss.
  stop_process(pid_);
  paused_.push_back(pid_);
  for (pid_t p : descendants(pid_)) {
    ::kill(p, SIGSTOP);
    paused_.push_back(p);
  }
  wait_states(paused_, std::string("tT\0", 3), kSignalTimeout);
}

void PostgresServer::resume() {
  for (auto it = paused_.rbegin(); it != paused_.rend(); ++it) ::kill(*it, SIGCONT);
  paused_.clear();
}

std::string PostgresServer::create_database(const std::string& name) {
  pqxx::connection conn(url("postgres"));
  pqxx::nontransaction work(conn);
  work.exec("CREATE DATABASE " + work.quote_name(name));
  return url(name);
}

std::string PostgresServer::url(const std::string& db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + percent_encode(db) +
         "?connect_timeout=2";
}

std::vector<std::vector<std::string>> PostgresServer::query(const std::string& db,
                                                            const std::string& sql) {
  pqxx::connection conn(url(db));
  pqxx::nontransaction work(conn);
  const pqxx::result result = work.exec(sql);
  std::vector<std::vector<std::string>> rows;
  rows.reserve(result.size());
  for (const auto& row : result) {
    std::vector<std::string> cells;
    cells.reserve(row.size());
    for (const auto& field : row) {
      cells.push_back(field.is_null() ? std::string() : std::string(field.c_str(), field.size()));
    }
    rows.push_back(std::move(cells));
  }
  return rows;
}

std::string PostgresServer::log() const {
  return read_text(log_path_);
}

PostgresServer& PostgresServer::shared() {
  static PostgresServer server;
  return server;
}

}  // namespace ssehub::test
