#pragma once
// Process plumbing shared by the test fixtures that run servers as child processes:
// spawning, bounded waits, /proc inspection, free loopback ports.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssehub::test {

// The contents of `path`; "" if it cannot be opened (a log not written yet, a process gone).
std::string read_text(const std::string& path);
// The last `n` bytes of `text`, with "..." in front when cut: for error messages.
std::string tail(const std::string& text, std::size_t n = 4000);
// A loopback TCP port that nothing is bound to at the time of the call.
std::uint16_t free_port();
// A new directory `prefix` + six random characters (mkdtemp), e.g. "/tmp/ssehub-pg-".
std::string make_temp_dir(const std::string& prefix);
// Removes `dir` and everything under it; errors are ignored (for cleanup paths).
void remove_tree(const std::string& dir);

// A user and group to run a child as.
struct Credentials {
  uid_t uid;
  gid_t gid;
};

// How spawn_process() sets up the child.
struct SpawnOptions {
  // Names the fixture in the child's setup-failure message, e.g. "redis_server".
  std::string name{};
  // stdout and stderr are appended here (created if missing); stdin is /dev/null.
  std::string log_path{};
  // Empty: the caller's working directory.
  std::string cwd{};
  // Unset: the caller's user. Supplementary groups are dropped.
  std::optional<Credentials> user{};
  // "NAME=value" entries; unset: the caller's environment.
  std::optional<std::vector<std::string>> env{};
  // The child gets SIGKILL when the calling thread exits; off for a child that must
  // outlive the thread that started it.
  bool die_with_thread = true;
};

// PATH, LC_ALL=C and TZ=UTC: an environment that does not depend on the caller's.
std::vector<std::string> minimal_env();

// Runs `args` (args[0] the executable, not looked up on PATH) in a new session, so
// the child's pid is also its process group id. The child gets SIGKILL when the
// calling thread exits (unless options.die_with_thread is off). Throws std::runtime_error if the
// log cannot be opened or fork fails; a failure in the child after fork is written to the log and
// exits 127.
pid_t spawn_process(const std::vector<std::string>& args, const SpawnOptions& options);

// Reaps the child `pid`; false if it is still running after `timeout`. `status` gets
// the wait status (0 if the child was reaped elsewhere).
bool reap(pid_t pid, std::chrono::milliseconds timeout, int* status = nullptr);
// A wait status as one number: the exit code, or 128 + the signal that ended it.
int exit_code(int status);
// True once the child `pid` has exited, without reaping it: while the zombie stays,
// its pid and process group id cannot be reused.
bool has_exited(pid_t pid);
// has_exited() polled until `timeout`.
bool wait_exited(pid_t pid, std::chrono::milliseconds timeout);

// Fields of /proc/PID/stat; state 0 if the process is gone.
struct ProcStat {
  char state = 0;
  pid_t ppid = 0;
};
ProcStat proc_stat(pid_t pid);

// Waits until every pid is in one of `states`, letters of /proc/PID/stat where '\0'
// means gone (a zombie counts as gone); false on timeout.
bool wait_states(const std::vector<pid_t>& pids, std::string_view states,
                 std::chrono::milliseconds timeout);

}  // namespace ssehub::test
