#include "server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "bus/make_bus.hpp"
#include "store/make_store.hpp"

namespace ssehub {
namespace {

// Descriptors kept back from streams for the listener, logs and store connections.
constexpr std::uint64_t kReservedDescriptors = 64;

std::string hostname_or(std::string fallback) {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) == 0 && buf[0]) return buf;
  return fallback;
}

tcp::endpoint resolve_listen(const ListenAddress& a) {
  std::string host = a.host == "localhost" ? "127.0.0.1" : a.host;
  error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (ec) throw ConfigError("server.listen", "\"" + a.host + "\" is not an IP address");
  return tcp::endpoint(addr, a.port);
}

JwtVerifier make_verifier(const AuthConfig& a) {
  try {
    JwtVerifier v = [&] {
      if (!a.jwt_public_key_file.empty()) {
        std::ifstream in(a.jwt_public_key_file);
        if (!in) throw std::runtime_error("cannot read " + a.jwt_public_key_file);
        std::stringstream pem;
        pem << in.rdbuf();
        return JwtVerifier::with_public_key_pem(pem.str());
      }
      return JwtVerifier::with_secret(a.jwt_secret);
    }();
    if (!a.issuer.empty()) v.issuer(a.issuer);
    if (!a.audience.empty()) v.audience(a.audience);
    return v;
  } catch (const std::runtime_error& e) {
    throw ConfigError(
        a.jwt_public_key_file.empty() ? "auth.jwt_secret" : "auth.jwt_public_key_file", e.what());
  }
}

}  // namespace

std::uint64_t raise_open_files_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit want = lim;
    want.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) lim = want;
  }
  return lim.rlim_cur;
}

Server::Server(Config config)
    : ctx_(std::move(config)), signals_(control_), drain_timer_(control_) {
  const Config& c = ctx_.config;
  ctx_.replica_id = hostname_or("ssehub") + "-" + std::to_string(getpid());
  if (c.auth.mode == "jwt") ctx_.auth = Authenticator(make_verifier(c.auth));
  ctx_.store = make_store(c);
  ctx_.bus = make_bus(c, ctx_.replica_id);
  hub_ = std::make_unique<Hub>(*ctx_.bus);
  ctx_.hub = hub_.get();
}

Server::~Server() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  // Threads of the bus and store may still call into the hub or post to workers:
  // stop them first, then destroy the streams while the store and bus exist.
  ctx_.bus->stop();
  ctx_.store->stop();
  hub_->set_workers({});
  listener_.reset();
  workers_.clear();
}

int Server::run() {
  const Config& c = ctx_.config;
  auto listen = parse_listen(c.server.listen);
  if (c.auth.mode == "none" && !is_loopback_host(listen.host)) {
    throw ConfigError("auth.mode",
                      "\"none\" lets anyone read every topic; it is refused on the non-loopback "
                      "address " +
                          listen.host + ". Set auth.mode to jwt or listen on 127.0.0.1");
  }
  std::uint64_t nofile = raise_open_files_limit();
  std::uint64_t by_descriptors = nofile > kReservedDescriptors ? nofile - kReservedDescriptors : 1;
  ctx_.max_connections = std::min<std::uint64_t>(c.server.max_connections, by_descriptors);

  std::size_t threads = c.server.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<Worker*> raw;
  for (std::size_t i = 0; i < threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, ctx_, *hub_));
    raw.push_back(workers_.back().get());
    ctx_.metrics.workers.push_back(&workers_.back()->counters());
  }
  hub_->set_workers(raw);
  ctx_.bus->set_gap_sink([hub = hub_.get()](const std::string& epoch, std::uint64_t resume) {
    hub->signal_gap(epoch, resume);
  });
  ctx_.bus->start([hub = hub_.get()](const EventBatchPtr& b) { hub->dispatch(b); });

  // Before anything answers: a SIGTERM right after the first probe must drain,
  // not kill (the signal set holds it until it is waited for).
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  listener_ = std::make_shared<Listener>(workers_[0]->io(), raw, ctx_);
  try {
    listener_->open(resolve_listen(listen));
  } catch (const boost::system::system_error& e) {
    throw ConfigError("server.listen",
                      "cannot listen on " + c.server.listen + ": " + e.code().message());
  }
  listener_->run();
  auto ep = listener_->local_endpoint();
  spdlog::info("ssehub {} listening on {}:{} replica={} threads={} store={} bus={}", kVersion,
               ep.address().to_string(), ep.port(), ctx_.replica_id, threads, ctx_.store->kind(),
               ctx_.bus->kind());
  spdlog::info("open-files limit {}: can hold {} streams (server.max_connections {})", nofile,
               ctx_.max_connections, c.server.max_connections);

  for (auto& w : workers_) threads_.emplace_back([w = w.get()] { w->run(); });

  signals_.async_wait([this](error_code ec, int sig) {
    if (ec) return;
    spdlog::info("signal {} received: draining", sig);
    begin_drain();
  });
  auto guard = net::make_work_guard(control_);
  control_.run();
  for (auto& t : threads_) t.join();
  threads_.clear();
  spdlog::info("ssehub stopped");
  return 0;
}

void Server::begin_drain() {
  if (draining_) return;
  draining_ = true;
  // The listener stays open so that probes see readiness fail (503) and new
  // streams are refused with 503 + Retry-After until the drain ends.
  ctx_.draining = true;
  const std::uint64_t window = ctx_.config.server.drain_timeout_ms;
  for (auto& w : workers_) {
    net::post(w->io(), [w = w.get(), window] { w->begin_drain(window); });
  }
  // A second signal ends the drain at once.
  signals_.async_wait([this](error_code ec, int) {
    if (!ec) finish();
  });
  auto margin = std::chrono::milliseconds(std::min<std::uint64_t>(window / 10, 500));
  watch_drain(std::chrono::steady_clock::now() + std::chrono::milliseconds(window) - margin);
}

void Server::watch_drain(std::chrono::steady_clock::time_point deadline) {
  if (ctx_.metrics.streams_open.load() <= 0 || std::chrono::steady_clock::now() >= deadline) {
    return finish();
  }
  drain_timer_.expires_after(std::chrono::milliseconds(20));
  drain_timer_.async_wait([this, deadline](error_code ec) {
    if (!ec) watch_drain(deadline);
  });
}

void Server::finish() {
  long open = ctx_.metrics.streams_open.load();
  if (open > 0) spdlog::warn("drain window over with {} streams open; closing them", open);
  listener_->stop();
  for (auto& w : workers_) w->stop();
  signals_.cancel();
  drain_timer_.cancel();
  control_.stop();
}

}  // namespace ssehub
