#pragma once
// What every server a test runs as a child process shares: a private temporary
// directory with the log in it, a start that waits for readiness by a deadline, a stop
// by pid (a signal, then SIGKILL after a bound), pause and resume.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace ssehub::test {

// Owns at most one running child and the directory it works in. The destructor
// kills a child still running (SIGKILL to it and its process group) and removes the
// directory; a fixture's own destructor stops its child more gently first. Not
// thread-safe: drive it from one thread. Every wait is bounded; failures throw
// std::runtime_error with the end of the log.
class ChildServer {
 public:
  ChildServer(const ChildServer&) = delete;
  ChildServer& operator=(const ChildServer&) = delete;

  // The child's pid, -1 when none runs.
  pid_t pid() const { return pid_; }
  // False once the child has exited (it is reaped then).
  bool running();
  // Everything the child wrote, over every start.
  std::string log() const;
  // The private directory, removed on destruction.
  const std::string& dir() const { return dir_; }

  // SIGSTOP to the child, then to its detached_children(); waits until all are stopped.
  // No-op when paused or not running.
  void pause();
  // SIGCONT to whatever pause() stopped, the last stopped first.
  void resume();

 protected:
  // `name` names the child in messages ("redis-server"); the directory is
  // `temp_prefix` plus six random characters, the log `log_name` in it.
  ChildServer(std::string name, const std::string& temp_prefix, const std::string& log_name);
  virtual ~ChildServer();

  const std::string& log_path() const { return log_path_; }

  // Starts the child; `options.name` and `options.log_path` are filled in. Throws if one
  // runs already.
  void spawn(const std::vector<std::string>& args, SpawnOptions options = {});
  // Polls `ready` every 10 ms until it returns true. When the child exits first, or
  // `timeout` passes (the child is killed then), throws "NAME did not WHAT within N s"
  // with what `ready` last put in its argument and the end of the log.
  void wait_ready(const std::function<bool(std::string& last)>& ready,
                  std::chrono::milliseconds timeout, const std::string& what);
  // The wait status of a child that is to run to completion; killed when it runs longer
  // than `timeout`, which throws.
  int wait_exit(std::chrono::milliseconds timeout);
  // For a derived destructor: `stop` (the server's own clean stop), and if it
  // throws, `kill` (what is left gets SIGKILL); never throws.
  static void stop_or_kill(const std::function<void()>& stop,
                           const std::function<void()>& kill) noexcept;
  // Resumes a paused child, sends `sig` (0: none) and waits up to `grace` for it to exit,
  // without reaping it. False if it still runs.
  bool signal_and_wait(int sig, std::chrono::milliseconds grace);
  // SIGKILL to the child, its process group (whatever is left of it, also after a clean
  // exit) and its detached_children(), then reaps it; returns its wait status. Throws if
  // any of them survives.
  int kill_child();

  // The child's processes outside its process group (they called setsid themselves),
  // which pause() and kill_child() reach too; asked once the child is stopped, so that it
  // starts no process the answer would miss. The destructor kills only the group.
  virtual std::vector<pid_t> detached_children() { return {}; }

 private:
  // SIGSTOP to the child and a wait until it is stopped (or gone), so that it is not
  // inside fork() when its processes are listed.
  void stop_first();

  std::string name_;
  std::string dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  std::vector<pid_t> paused_;
};

}  // namespace ssehub::test
