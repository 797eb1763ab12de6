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

namespace ssehub::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds kStartTimeout{30000};
constexpr milliseconds kStopTimeout{30000};
constexpr milliseconds kInitdbTimeout{120000};

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

PostgresServer::PostgresServer()
    : ChildServer("postgres", "/tmp/ssehub-pg-", "server.log"),
      data_dir_(dir() + "/data"),
      bin_dir_(find_bin_dir()),
      port_(free_port()) {
  const Credentials user = postgres_user();
  if (::chown(dir().c_str(), user.uid, user.gid) != 0) {
    throw std::runtime_error("cannot chown " + dir() + " to postgres");
  }
  spawn({bin_dir_ + "/initdb", "-D", data_dir_, "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--no-locale", "--no-sync"},
        as_postgres());
  const int status = wait_exit(kInitdbTimeout);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("initdb failed:\n" + tail(log()));
  }
  start();
}

PostgresServer::~PostgresServer() {
  stop_or_kill([this] { stop(); }, [this] { kill_hard(); });
}

SpawnOptions PostgresServer::as_postgres() const {
  return {.cwd = dir(), .user = postgres_user(), .env = minimal_env()};
}

void PostgresServer::start() {
  if (pid() > 0) return;
  const std::string port = std::to_string(port_);
  // fsync off survives a killed server (the kernel keeps its writes); commits stay
  // synchronous, so no commit the server confirmed is lost when it is killed.
  spawn({bin_dir_ + "/postgres", "-D", data_dir_, "-p", port, "-c", "listen_addresses=127.0.0.1",
         "-c", "unix_socket_directories=" + dir(), "-c", "fsync=off", "-c", "full_page_writes=off",
         "-c", "max_connections=300", "-c", "shared_buffers=128MB"},
        as_postgres());
  const std::string conninfo =
      "host=127.0.0.1 port=" + port + " user=postgres dbname=postgres connect_timeout=1";
  try {
    wait_ready([&](std::string&) { return PQping(conninfo.c_str()) == PQPING_OK; }, kStartTimeout,
               "accept connections");
  } catch (...) {
    remove_pid_file();
    throw;
  }
}

void PostgresServer::stop() {
  if (pid() <= 0) return;
  if (signal_and_wait(SIGINT, kStopTimeout)) {
    kill_child();
  } else {
    kill_hard();
  }
}

void PostgresServer::kill_hard() {
  if (pid() <= 0) return;
  // With the postmaster's children: they must be gone before a new postmaster reuses
  // the data directory.
  kill_child();
  remove_pid_file();
}

std::vector<pid_t> PostgresServer::detached_children() {
  return descendants(pid());
}

void PostgresServer::remove_pid_file() const {
  std::error_code ec;
  fs::remove(data_dir_ + "/postmaster.pid", ec);
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

PostgresServer& PostgresServer::shared() {
  static PostgresServer server;
  return server;
}

}  // namespace ssehub::test
