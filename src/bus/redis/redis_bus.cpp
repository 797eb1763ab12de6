#include "bus/redis/redis_bus.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "core/config.hpp"
#include "platform/clock.hpp"
#include "platform/random.hpp"

namespace ssehub {
namespace {

using Clock = std::chrono::steady_clock;

std::string text(const redisReply& r) {
  return r.str ? std::string(r.str, r.len) : std::string();
}

redis::Endpoint endpoint_of(const std::string& url) {
  auto parsed = redis::parse_url(url);
  if (auto* err = std::get_if<std::string>(&parsed)) throw ConfigError("bus.redis_url", *err);
  return std::get<redis::Endpoint>(parsed);
}

SubscriberOptions subscriber_options(const RedisBus::Options& o) {
  SubscriberOptions s;
  s.prefix = o.prefix;
  s.replica = o.replica;
  s.sentinel_interval = o.sentinel_interval;
  s.sentinel_timeout = o.sentinel_timeout;
  s.io_timeout = RedisBus::kIoTimeout;
  s.store_check_interval = RedisBus::kStoreCheckInterval;
  s.recovery_limit = o.recovery_limit;
  s.max_buffered = RedisBus::kMaxBufferedEvents;
  s.jitter = random_unit;
  return s;
}

bool readable(short revents) {
  return revents & (POLLIN | POLLHUP | POLLERR);
}

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

RedisBus::RedisBus(Options options)
    : options_(std::move(options)),
      endpoint_(endpoint_of(options_.url)),
      sentinel_channel_(redis::sentinel_channel(options_.prefix, options_.replica)),
      publisher_(endpoint_, options_.prefix, kIoTimeout),
      store_(options_.postgres_url, options_.recovery_limit, kIoTimeout * 2),
      machine_(subscriber_options(options_)) {
  if (pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error("redis bus: cannot create its wake-up pipe");
  }
}

RedisBus::~RedisBus() {
  stop();
  for (int fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

void RedisBus::start(BatchSink sink) {
  sink_ = std::move(sink);
  // Live delivery starts at the store's head: what came before is replay's.
  std::uint64_t head = 0;
  try {
    head = store_.read_head_and_epoch();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("redis bus: ") + e.what());
  }
  spdlog::info("redis bus: {}:{} prefix {} sentinel every {} ms (timeout {} ms)", endpoint_.host,
               endpoint_.port, options_.prefix, options_.sentinel_interval.count(),
               options_.sentinel_timeout.count());
  execute(feed(sub::Start{head}));
  thread_ = std::thread([this] { run(); });
}

void RedisBus::stop() {
  if (stopping_.exchange(true)) return;
  wake();
  {
    // Between the sleeper's check of stopping_ and its wait, a notify is lost.
    std::lock_guard lock(mutex_);
  }
  wake_cv_.notify_all();
  store_.interrupt();
  if (thread_.joinable()) thread_.join();
}

void RedisBus::wake() {
  char c = 1;
  [[maybe_unused]] auto n = ::write(wake_pipe_[1], &c, 1);
}

bool RedisBus::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  return !wake_cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

sub::Actions RedisBus::feed(sub::Input input) {
  const sub::Now now{Clock::now(), unix_ms()};
  std::lock_guard lock(mutex_);
  return machine_.resume(std::move(input), now);
}

// ---- the subscriber thread -----------------------------------------------------

void RedisBus::run() {
  using Phase = SubscriberMachine::Phase;
  while (!stopping_) {
    Phase phase;
    std::chrono::milliseconds backoff;
    {
      std::lock_guard lock(mutex_);
      phase = machine_.phase();
      backoff = machine_.backoff();
    }
    try {
      switch (phase) {
        case Phase::connect:
          connect();
          break;
        case Phase::subscribing:
        case Phase::serving:
          serve_round();
          break;
        case Phase::backoff:
          if (sleep_for(backoff)) execute(feed(sub::BackoffElapsed{}));
          break;
        case Phase::idle:
        case Phase::stopped:
          return;
      }
    } catch (const std::exception& e) {
      if (stopping_) break;  // an interrupted call, not a failure
      // Any I/O failure, wherever in the actions it happened.
      execute(feed(sub::Failed{e.what()}));
    }
  }
  execute(feed(sub::Stop{}));
  sub_.reset();
  probe_.reset();
}

void RedisBus::connect() {
  sub_ = std::make_unique<RedisConnection>(endpoint_, kIoTimeout);
  execute(feed(sub::Opened{}));
}

void RedisBus::serve_round() {
  execute(feed(sub::Tick{}));
  if (!sub_) return;
  Clock::time_point due;
  {
    std::lock_guard lock(mutex_);
    due = machine_.wake_at();
  }
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now());
  const int timeout = static_cast<int>(std::clamp<long long>(wait.count(), 0, 250));
  pollfd fds[2] = {{sub_->fd(), POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
  if (::poll(fds, 2, timeout) < 0 && errno != EINTR) throw std::runtime_error("poll failed");
  if (fds[1].revents & POLLIN) {
    char buf[64];
    while (::read(wake_pipe_[0], buf, sizeof buf) > 0) {
    }
  }
  if (readable(fds[0].revents)) {
    sub_->read_available();
    feed_replies();
  }
  if (sub_) execute(feed(sub::ReadDone{}));
}

void RedisBus::feed_replies() {
  while (sub_) {
    auto r = sub_->next_reply();
    if (!r) break;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) continue;
    execute(feed(sub::Reply{text(*r->element[0]), text(*r->element[1]), text(*r->element[2])}));
  }
}

void RedisBus::read_backlog(int rounds) {
  for (int i = 0; i < rounds && sub_; ++i) {
    pollfd p{sub_->fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || !readable(p.revents)) break;
    sub_->read_available();
    feed_replies();
  }
}

void RedisBus::execute(sub::Actions actions) {
  for (auto it = actions.begin(); it != actions.end(); ++it) {
    try {
      execute_one(*it);
    } catch (...) {
      // The machine let go of these streams: they go on whatever failed.
      for (auto rest = std::next(it); rest != actions.end(); ++rest) {
        if (auto* r = std::get_if<sub::Release>(&*rest)) {
          for (auto& f : r->streams) f();
        }
      }
      throw;
    }
  }
}

void RedisBus::execute_one(sub::Action& action) {
  // stop() interrupts the store call in progress; one not begun yet is not made.
  const bool reads_store = std::holds_alternative<sub::Recover>(action) ||
                           std::holds_alternative<sub::ReadStoreHead>(action);
  if (stopping_ && reads_store) throw std::runtime_error("stopping");
  std::visit(Overloaded{
                 [&](sub::Send& a) {
                   for (const auto& cmd : a.commands) sub_->append(cmd);
                   sub_->flush();
                 },
                 [&](sub::Deliver& a) {
                   if (sink_) sink_(std::move(a.batch));
                 },
                 [&](sub::Recover& a) {
                   sub::Recovered r;
                   try {
                     r = store_.read_after(a.after, a.topics);
                   } catch (const std::exception& e) {
                     throw std::runtime_error("recovery from the store failed (" + a.why +
                                              "): " + e.what());
                   }
                   execute(feed(std::move(r)));
                 },
                 [&](sub::ReadStoreHead&) { execute(feed(sub::StoreHead{store_.head()})); },
                 [&](sub::ReadBacklog& a) {
                   read_backlog(a.rounds);
                   execute(feed(sub::BacklogRead{}));
                 },
                 [&](sub::PublishProbe& a) { publish_probe(a.token); },
                 [&](sub::Release& a) {
                   for (auto& f : a.streams) f();
                 },
                 [&](sub::SignalGap& a) {
                   if (gap_sink_) gap_sink_(store_.epoch(), a.head);
                 },
                 [&](sub::Disconnect&) {
                   sub_.reset();
                   probe_.reset();
                 },
                 [&](sub::Log& a) {
                   switch (a.level) {
                     case sub::Log::info:
                       spdlog::info("{}", a.text);
                       break;
                     case sub::Log::warn:
                       spdlog::warn("{}", a.text);
                       break;
                     case sub::Log::critical:
                       spdlog::critical("{}", a.text);
                       break;
                   }
                 },
             },
             action);
}

void RedisBus::publish_probe(std::uint64_t token) {
  try {
    if (!probe_) probe_ = std::make_unique<RedisConnection>(endpoint_, kIoTimeout);
    probe_->command({"PUBLISH", sentinel_channel_, std::to_string(token)});
  } catch (const std::exception& e) {
    // The probe is lost; its miss is what reports it.
    probe_.reset();
    spdlog::warn("redis sentinel probe not sent: {}", e.what());
  }
}

// ---- reactor threads -----------------------------------------------------------

void RedisBus::topic_added(const std::string& topic) {
  {
    std::lock_guard lock(mutex_);
    machine_.want(topic);
  }
  wake();
}

void RedisBus::topic_removed(const std::string& topic) {
  {
    std::lock_guard lock(mutex_);
    machine_.unwant(topic);
  }
  wake();
}

bool RedisBus::subscribed(const std::vector<std::string>& topics, std::function<void()> later) {
  std::lock_guard lock(mutex_);
  return machine_.subscribed(topics, std::move(later));
}

std::uint64_t RedisBus::incomplete_through() const {
  std::lock_guard lock(mutex_);
  return machine_.incomplete_through();
}

// ---- publishing, health ----------------------------------------------------------

void RedisBus::publish(EventBatchPtr batch) {
  if (batch) publisher_.publish(*batch);
}

bool RedisBus::ready() const {
  std::lock_guard lock(mutex_);
  return machine_.ready();
}

std::string RedisBus::health_json() const {
  SubscriberHealth h;
  {
    std::lock_guard lock(mutex_);
    h = machine_.health();
  }
  return redis_health_json(h);
}

void RedisBus::render_metrics(std::string& out) const {
  SubscriberHealth h;
  {
    std::lock_guard lock(mutex_);
    h = machine_.health();
  }
  render_redis_metrics(h, {publisher_.published(), publisher_.failures()}, out);
}

}  // namespace ssehub
