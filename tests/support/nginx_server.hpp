#pragma once
// nginx in front of daemons on loopback ports, with the repository's own
// docker/nginx.conf, for integration tests of ssehub behind a load balancer.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "child_server.hpp"

namespace ssehub::test {

// Renders docker/nginx.conf into a private directory under /tmp, with its listen
// line on a free loopback port and an nginx-upstream.conf that lists 127.0.0.1 on
// each of `upstream_ports` (with the server parameters of docker/nginx-upstream.conf),
// and runs `nginx -p DIR -c DIR/nginx.conf` in the foreground as a child in its own
// session. Ready once the port accepts connections (10 s). The master process gets
// SIGKILL when the thread that started it exits. Failures throw std::runtime_error
// with nginx's output.
class NginxServer : public ChildServer {
 public:
  explicit NginxServer(const std::vector<std::uint16_t>& upstream_ports);
  // SIGTERM (fast shutdown), SIGKILL to the process group after 5 s; removes the directory.
  ~NginxServer() override;

  std::uint16_t port() const { return port_; }
  // pid(): the master process, -1 once stopped. log(): nginx's error log and access log
  // (both go to one file).

  // The nginx executable: /usr/sbin/nginx, else `nginx` on PATH; empty if none.
  static std::string binary();

 private:
  std::uint16_t port_ = 0;
};

}  // namespace ssehub::test
