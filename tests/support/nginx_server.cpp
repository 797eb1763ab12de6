#include "nginx_server.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "test_support.hpp"

#ifndef SSEHUB_SOURCE_DIR
#error "SSEHUB_SOURCE_DIR must name the repository root"
#endif

namespace ssehub::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds kStartTimeout{10000};
constexpr milliseconds kStopTimeout{5000};
// The listen line of docker/nginx.conf that the rendered copy replaces.
constexpr const char* kListenLine = "listen 8080;";

// The contents of a file that must exist.
std::string read_required(const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0) throw std::runtime_error("cannot read " + path);
  return read_text(path);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// docker/nginx.conf with its one `listen 8080;` line on 127.0.0.1:port instead.
std::string render_conf(const std::string& conf, std::uint16_t port) {
  std::istringstream in(conf);
  std::string line;
  std::string out;
  int found = 0;
  while (std::getline(in, line)) {
    if (trim(line) == kListenLine) {
      line = line.substr(0, line.find_first_not_of(" \t")) +
             "listen 127.0.0.1:" + std::to_string(port) + ";";
      ++found;
    }
    out += line + "\n";
  }
  if (found != 1) {
    throw std::runtime_error("docker/nginx.conf must have exactly one line `" +
                             std::string(kListenLine) + "`; found " + std::to_string(found));
  }
  return out;
}

// One `server 127.0.0.1:PORT PARAMS;` line per port, PARAMS taken from the first
// `server` line of docker/nginx-upstream.conf.
std::string render_upstreams(const std::string& shipped, const std::vector<std::uint16_t>& ports) {
  std::istringstream in(shipped);
  std::string line;
  while (std::getline(in, line)) {
    const std::string t = trim(line);
    if (t.rfind("server ", 0) != 0) continue;
    const auto semicolon = t.find(';');
    if (semicolon == std::string::npos) break;
    const std::string rest = trim(t.substr(7, semicolon - 7));  // "ADDRESS [PARAMS]"
    const auto space = rest.find_first_of(" \t");
    const std::string params = space == std::string::npos ? "" : " " + trim(rest.substr(space));
    std::string out;
    for (std::uint16_t p : ports) {
      out += "server 127.0.0.1:" + std::to_string(p) + params + ";\n";
    }
    return out;
  }
  throw std::runtime_error("docker/nginx-upstream.conf has no `server ADDRESS ...;` line");
}

}  // namespace

std::string NginxServer::binary() {
  if (::access("/usr/sbin/nginx", X_OK) == 0) return "/usr/sbin/nginx";
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/nginx";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

NginxServer::NginxServer(const std::vector<std::uint16_t>& upstream_ports)
    : ChildServer("nginx", "/tmp/ssehub-nginx-", "nginx.log") {
  if (upstream_ports.empty()) throw std::invalid_argument("NginxServer needs an upstream port");
  const std::string bin = binary();
  if (bin.empty()) {
    throw std::runtime_error("nginx is not installed (scripts/install-deps.sh installs it)");
  }
  const std::string source = SSEHUB_SOURCE_DIR;
  const std::string conf = read_required(source + "/docker/nginx.conf");
  const std::string upstreams = read_required(source + "/docker/nginx-upstream.conf");

  // Run as root, nginx's workers switch to an unprivileged user; they write
  // their temporary files under this directory.
  if (::chmod(dir().c_str(), 0755) != 0) throw std::runtime_error("cannot chmod " + dir());
  port_ = free_port();
  write_text(dir() + "/nginx.conf", render_conf(conf, port_));
  write_text(dir() + "/nginx-upstream.conf", render_upstreams(upstreams, upstream_ports));
  // Relative paths in nginx.conf (pid, temporary files) resolve against -p; the
  // include of nginx-upstream.conf against the directory of -c. The workers share the
  // master's process group.
  spawn({bin, "-e", "stderr", "-p", dir() + "/", "-c", dir() + "/nginx.conf", "-g",
         "daemon off; pid nginx.pid;"});
  // The pid file is written once the listening socket is bound, so a connection
  // that is accepted then reaches this nginx and not whatever else took the port.
  wait_ready(
      [&](std::string&) {
        std::error_code ec;
        if (!fs::exists(dir() + "/nginx.pid", ec)) return false;
        const int fd = connect_loopback(port_);
        if (fd < 0) return false;
        ::close(fd);
        return true;
      },
      kStartTimeout, "accept connections");
}

NginxServer::~NginxServer() {
  try {
    // Fast shutdown: the master stops its workers, then exits; then SIGKILL to whatever
    // is left of the group (a master that did not exit, orphaned workers).
    signal_and_wait(SIGTERM, kStopTimeout);
    kill_child();
  } catch (...) {
  }
}

}  // namespace ssehub::test
