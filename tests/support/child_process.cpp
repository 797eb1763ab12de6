#include "child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ssehub::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Writes "NAME: child setup failed: WHAT" to stderr (the log) and exits; async-signal-safe.
[[noreturn]] void child_fail(const char* name, const char* what) {
  const char middle[] = ": child setup failed: ";
  ssize_t ignored = ::write(2, name, std::strlen(name));
  ignored = ::write(2, middle, sizeof middle - 1);
  ignored = ::write(2, what, std::strlen(what));
  ignored = ::write(2, "\n", 1);
  (void)ignored;
  _exit(127);
}

}  // namespace

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail(const std::string& text, std::size_t n) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

std::uint16_t free_port() {
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

std::string make_temp_dir(const std::string& prefix) {
  std::string path = prefix + "XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return path;
}

void remove_tree(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

std::vector<std::string> minimal_env() {
  return {"PATH=/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"};
}

pid_t spawn_process(const std::vector<std::string>& args, const SpawnOptions& options) {
  if (args.empty()) throw std::invalid_argument("spawn_process: no arguments");
  // Everything the child needs is allocated here: after fork it may only make
  // async-signal-safe calls, as the test process may have other threads.
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envv;
  if (options.env) {
    for (const auto& e : *options.env) envv.push_back(const_cast<char*>(e.c_str()));
    envv.push_back(nullptr);
  }
  char* const* envp = options.env ? envv.data() : nullptr;
  const char* name = options.name.c_str();
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  const std::optional<Credentials> user = options.user;
  const bool die_with_thread = options.die_with_thread;
  int log_fd = ::open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + options.log_path);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setsid() < 0) child_fail(name, "setsid");
    if (::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) {
      child_fail(name, "dup2");
    }
    ::close_range(3, ~0U, 0);
    if (user &&
        (::setgroups(0, nullptr) != 0 || ::setgid(user->gid) != 0 || ::setuid(user->uid) != 0)) {
      child_fail(name, "switching user");
    }
    if (die_with_thread) {
      // After setuid, which clears it.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      // The parent died before prctl took effect.
      if (::getppid() != parent) _exit(127);
    }
    if (cwd != nullptr && ::chdir(cwd) != 0) child_fail(name, "chdir");
    ::execve(argv[0], argv.data(), envp != nullptr ? envp : environ);
    child_fail(name, "execve");
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) throw std::runtime_error("fork failed");
  return pid;
}

bool reap(pid_t pid, milliseconds timeout, int* status) {
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

int exit_code(int status) {
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : status;
}

bool has_exited(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno == ECHILD;
  }
  return info.si_pid == pid;
}

bool wait_exited(pid_t pid, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!has_exited(pid)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

ProcStat proc_stat(pid_t pid) {
  const std::string text = read_text("/proc/" + std::to_string(pid) + "/stat");
  // The command name in parentheses may itself hold ')' and spaces.
  const auto paren = text.rfind(')');
  if (paren == std::string::npos || paren + 4 >= text.size()) return {};
  const long ppid = std::strtol(text.c_str() + paren + 4, nullptr, 10);
  return {text[paren + 2], static_cast<pid_t>(ppid)};
}

bool wait_states(const std::vector<pid_t>& pids, std::string_view states, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    bool all = true;
    for (pid_t p : pids) {
      char s = proc_stat(p).state;
      if (s == 'Z') s = 0;
      if (states.find(s) == std::string_view::npos) all = false;
    }
    if (all) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

}  // namespace ssehub::test
