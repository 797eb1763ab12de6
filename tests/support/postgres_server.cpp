#include "postgres_server.hpp"

#include <postgresql/libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <pqxx/pqxx>
#include <stdexcept>
#include <thread>

#include "child_process.hpp"

namespace ssehub::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kStartTimeout{30000};
constexpr milliseconds kStopTimeout{30000};
constexpr milliseconds kInitdbTimeout{120000};
constexpr milliseconds kSignalTimeout{5000};

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

Credentials postgres_user() {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r("postgres", &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    throw std::runtime_error("no `postgres` OS user");
  }
  return {pw.pw_uid, pw.pw_gid};
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
    const ProcStat stat = proc_stat(pid);
    if (stat.state != 0 && stat.state != 'Z') children.emplace(stat.ppid, pid);
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

// Runs `args` as the postgres user in `cwd`, output appended to `log_path`.
pid_t spawn_as_postgres(const std::vector<std::string>& args, const std::string& log_path,
                        const std::string& cwd) {
  return spawn_process(args, {.name = "postgres_server",
                              .log_path = log_path,
                              .cwd = cwd,
                              .user = postgres_user(),
                              .env = minimal_env()});
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

PostgresServer::PostgresServer() : bin_dir_(find_bin_dir()), port_(free_port()) {
  dir_ = make_temp_dir("/tmp/ssehub-pg-");
  data_dir_ = dir_ + "/data";
  log_path_ = dir_ + "/server.log";
  try {
    const Credentials user = postgres_user();
    if (::chown(dir_.c_str(), user.uid, user.gid) != 0) {
      throw std::runtime_error("cannot chown " + dir_ + " to postgres");
    }
    pid_t pid = spawn_as_postgres({bin_dir_ + "/initdb", "-D", data_dir_, "-U", "postgres",
                                   "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"},
                                  log_path_, dir_);
    int status = 0;
    if (!reap(pid, kInitdbTimeout, &status)) {
      ::kill(pid, SIGKILL);
      reap(pid, kSignalTimeout);
      throw std::runtime_error("initdb timed out:\n" + tail(log()));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      throw std::runtime_error("initdb failed:\n" + tail(log()));
    }
    start();
  } catch (...) {
    remove_tree(dir_);
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
  remove_tree(dir_);
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
    if (reap(pid_, milliseconds(0))) {
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
  if (reap(pid_, kStopTimeout)) {
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
  const bool reaped = reap(pid_, kStopTimeout);
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
