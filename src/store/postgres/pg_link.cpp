#include "store/postgres/pg_link.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include "platform/clock.hpp"
#include "store/postgres/pg_sql.hpp"

namespace ssehub {
namespace {

// libpq ends its messages with a newline; a log line should not.
std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (auto& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

}  // namespace

void PgStatus::up() {
  if (connected_.exchange(true)) return;
  spdlog::info("postgres connected");
}

void PgStatus::down(const std::string& error) {
  {
    std::lock_guard lock(mutex_);
    last_error_ = error;
    last_error_unix_ms_ = unix_ms();
    if (connected_.load()) down_since_ = std::chrono::steady_clock::now();
    if (down_since_ == std::chrono::steady_clock::time_point{}) {
      down_since_ = std::chrono::steady_clock::now();
    }
  }
  if (connected_.exchange(false)) spdlog::error("postgres unavailable: {}", error);
}

void PgStatus::note_error(const std::string& error) {
  std::lock_guard lock(mutex_);
  last_error_ = error;
  last_error_unix_ms_ = unix_ms();
}

long long PgStatus::down_for_ms() const {
  if (connected()) return -1;
  std::lock_guard lock(mutex_);
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               down_since_)
      .count();
}

PgStatus::Snapshot PgStatus::snapshot() const {
  std::lock_guard lock(mutex_);
  return {connected(), last_error_, last_error_unix_ms_};
}

// The watch holds its own descriptor of the socket: libpq may close its own when
// the connection breaks mid-call, and its number may then be reused by another
// socket before the owner detaches. shutdown() acts on the socket either way.
void CallWatch::attach(int fd) {
  std::lock_guard lock(mutex_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
}

void CallWatch::detach() {
  std::lock_guard lock(mutex_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

CallWatch::~CallWatch() {
  detach();
}

void CallWatch::interrupt() {
  std::lock_guard lock(mutex_);
  fired_ = true;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

PgLink::PgLink(const std::string& conninfo, std::string role, PgStatus& status,
               std::chrono::milliseconds statement_timeout)
    : conninfo_(pg::with_connection_defaults(conninfo)),
      role_(std::move(role)),
      status_(status),
      statement_timeout_(statement_timeout) {}

pqxx::connection& PgLink::get() {
  if (conn_) return *conn_;
  try {
    auto c = std::make_unique<pqxx::connection>(conninfo_);
    pqxx::nontransaction setup(*c);
    setup.exec("SET application_name = " + setup.quote("ssehub-" + role_));
    if (statement_timeout_.count() > 0) {
      setup.exec("SET statement_timeout = " + std::to_string(statement_timeout_.count()));
    }
    setup.commit();
    conn_ = std::move(c);
  } catch (const pqxx::broken_connection& e) {
    status_.down(one_line(e.what()));
    throw;
  } catch (const pqxx::sql_error& e) {
    status_.down(one_line(e.what()));
    throw pqxx::broken_connection(e.what());
  }
  status_.up();
  return *conn_;
}

PgFailure PgLink::fail(const CallWatch* watch) {
  PgFailure f;
  bool lost = false;
  std::string sqlstate;
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    lost = true;
    f.message = one_line(e.what());
  } catch (const pqxx::in_doubt_error& e) {
    lost = true;
    f.message = "commit outcome unknown: " + one_line(e.what());
  } catch (const pqxx::sql_error& e) {
    sqlstate = e.sqlstate();
    f.message = one_line(e.what());
  } catch (const std::exception& e) {
    f.message = one_line(e.what());
  }
  bool deadline = watch && watch->fired();
  if (conn_ && !conn_->is_open()) lost = true;
  f.reason = pg::classify_failure(sqlstate, lost, deadline);
  if (deadline) f.message = "deadline passed (" + f.message + ")";
  if (lost || deadline || f.reason == FailureReason::unavailable) {
    conn_.reset();
    if (!deadline) status_.down(f.message);
  } else {
    status_.note_error(f.message);
  }
  return f;
}

}  // namespace ssehub
