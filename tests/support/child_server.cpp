#include "child_server.hpp"

#include <signal.h>

#include <stdexcept>
#include <thread>
#include <utility>

namespace ssehub::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPollInterval{10};
constexpr milliseconds kSignalTimeout{5000};

std::string seconds(milliseconds ms) {
  return std::to_string(ms.count() / 1000) + " s";
}

}  // namespace

ChildServer::ChildServer(std::string name, const std::string& temp_prefix,
                         const std::string& log_name)
    : name_(std::move(name)), dir_(make_temp_dir(temp_prefix)), log_path_(dir_ + "/" + log_name) {}

ChildServer::~ChildServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::kill(-pid_, SIGKILL);
    reap(pid_, kSignalTimeout);
  }
  remove_tree(dir_);
}

void ChildServer::stop_or_kill(const std::function<void()>& stop,
                               const std::function<void()>& kill) noexcept {
  try {
    stop();
  } catch (...) {
    try {
      kill();
    } catch (...) {
    }
  }
}

bool ChildServer::running() {
  if (pid_ <= 0) return false;
  if (!has_exited(pid_)) return true;
  reap(pid_, kSignalTimeout);
  pid_ = -1;
  paused_.clear();
  return false;
}

std::string ChildServer::log() const {
  return read_text(log_path_);
}

void ChildServer::pause() {
  if (pid_ <= 0 || !paused_.empty()) return;
  stop_first();
  paused_.push_back(pid_);
  for (pid_t p : detached_children()) {
    ::kill(p, SIGSTOP);
    paused_.push_back(p);
  }
  if (!wait_states(paused_, std::string("tT\0", 3), kSignalTimeout)) {
    throw std::runtime_error("the processes of " + name_ + " did not stop");
  }
}

void ChildServer::resume() {
  for (auto it = paused_.rbegin(); it != paused_.rend(); ++it) ::kill(*it, SIGCONT);
  paused_.clear();
}

void ChildServer::spawn(const std::vector<std::string>& args, SpawnOptions options) {
  if (pid_ > 0) throw std::logic_error(name_ + " is running already");
  options.name = name_;
  options.log_path = log_path_;
  pid_ = spawn_process(args, options);
}

void ChildServer::wait_ready(const std::function<bool(std::string& last)>& ready,
                             milliseconds timeout, const std::string& what) {
  const auto deadline = Clock::now() + timeout;
  std::string last;
  for (;;) {
    if (pid_ <= 0 || has_exited(pid_)) {
      if (pid_ > 0) reap(pid_, kSignalTimeout);
      pid_ = -1;
      throw std::runtime_error(name_ + " exited during startup:\n" + tail(log()));
    }
    if (ready(last)) return;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  kill_child();
  throw std::runtime_error(name_ + " did not " + what + " within " + seconds(timeout) +
                           (last.empty() ? "" : " (last: " + last + ")") + ":\n" + tail(log()));
}

int ChildServer::wait_exit(milliseconds timeout) {
  if (wait_exited(pid_, timeout)) return kill_child();
  kill_child();
  throw std::runtime_error(name_ + " timed out after " + seconds(timeout) + ":\n" + tail(log()));
}

bool ChildServer::signal_and_wait(int sig, milliseconds grace) {
  if (pid_ <= 0) return true;
  resume();
  if (sig != 0) ::kill(pid_, sig);
  return wait_exited(pid_, grace);
}

int ChildServer::kill_child() {
  if (pid_ <= 0) return 0;
  stop_first();
  const std::vector<pid_t> detached = detached_children();
  for (pid_t p : detached) ::kill(p, SIGKILL);
  const pid_t pid = std::exchange(pid_, -1);
  // An exited child stays a zombie until reaped, so neither its pid nor its group id
  // can have been reused.
  ::kill(pid, SIGKILL);
  ::kill(-pid, SIGKILL);
  paused_.clear();
  int status = 0;
  if (!reap(pid, kSignalTimeout, &status)) {
    throw std::runtime_error(name_ + " " + std::to_string(pid) + " survived SIGKILL");
  }
  if (!wait_states(detached, std::string("\0", 1), kSignalTimeout)) {
    throw std::runtime_error("processes of " + name_ + " survived SIGKILL");
  }
  return status;
}

void ChildServer::stop_first() {
  ::kill(pid_, SIGSTOP);
  if (!wait_states({pid_}, std::string("tT\0", 3), kSignalTimeout)) {
    throw std::runtime_error(name_ + " " + std::to_string(pid_) + " did not stop");
  }
}

}  // namespace ssehub::test
