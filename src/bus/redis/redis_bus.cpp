#include "bus/redis/redis_bus.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/event_id.hpp"
#include "platform/clock.hpp"
#include "platform/random.hpp"
#include "store/postgres/pg_rows.hpp"
#include "store/postgres/pg_sql.hpp"

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

}  // namespace

RedisBus::RedisBus(Options options)
    : options_(std::move(options)),
      endpoint_(endpoint_of(options_.url)),
      heads_channel_(redis::heads_channel(options_.prefix)),
      sentinel_channel_(redis::sentinel_channel(options_.prefix, options_.replica)),
      sentinel_(options_.sentinel_interval, options_.sentinel_timeout),
      pg_(options_.postgres_url, "redis-recovery", pg_status_, kIoTimeout * 2) {
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
  try {
    pqxx::nontransaction n(pg_.get());
    auto head = n.exec1(pg::kHeadSql);
    epoch_ = head[0].as<std::string>();
    sequencer_ = LiveSequencer(head[1].as<std::uint64_t>(), kMaxBufferedEvents);
  } catch (...) {
    PgFailure f = pg_.fail();
    throw std::runtime_error("redis bus: reading the store head: " + f.message);
  }
  spdlog::info("redis bus: {}:{} prefix {} sentinel every {} ms (timeout {} ms)", endpoint_.host,
               endpoint_.port, options_.prefix, options_.sentinel_interval.count(),
               options_.sentinel_timeout.count());
  // Connecting from now on: a stream that arrives before the thread runs waits
  // for its topics like any other (closed would let it be ready at once).
  set_state(lifecycle_.start(), "start");
  thread_ = std::thread([this] { run(); });
}

void RedisBus::stop() {
  if (stopping_.exchange(true)) return;
  wake();
  wake_cv_.notify_all();
  scheduler_.stop();
  pg_watch_.interrupt();
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

// ---- lifecycle -------------------------------------------------------------

void RedisBus::set_state(SubscriberLifecycle::Step step, const std::string& cause) {
  if (!step.changed()) return;
  state_ = step.to;
  state_since_ms_ = unix_ms();
  if (!cause.empty()) {
    std::lock_guard lock(mutex_);
    last_error_ = cause;
  }
  nlohmann::json line = {{"component", "redis-subscriber"},
                         {"from", to_string(step.from)},
                         {"to", to_string(step.to)},
                         {"cause", cause}};
  if (step.wait.count() > 0) line["retryInMs"] = step.wait.count();
  // The cause may quote a server's message: never let its bytes throw.
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (step.to == SubscriberState::reconnecting) {
    spdlog::warn("redis subscriber state {}", text);
  } else {
    spdlog::info("redis subscriber state {}", text);
  }
}

void RedisBus::run() {
  while (!stopping_) {
    std::string cause;
    try {
      connect_and_subscribe();
      set_state(lifecycle_.connected(), "subscribed");
      sentinel_.restart(Clock::now());
      serve();
    } catch (const std::exception& e) {
      cause = e.what();
    }
    sub_.reset();
    probe_.reset();
    flush_events();
    {
      std::lock_guard lock(mutex_);
      tracker_.disconnected();
      // Before the state says reconnecting (streams then skip the wait): what was
      // dispatched so far may lack the topics not confirmed yet.
      released_through_ = std::max(released_through_, sequencer_.complete_through());
    }
    release_after_ = 0;  // the waiters are given up on below
    if (stopping_) break;
    auto step = lifecycle_.failed(random_unit());
    ++reconnects_;
    set_state(step, cause);
    // Streams waiting for a subscription go on; what they miss meanwhile is
    // recovered from the store on reconnect.
    release_waiters(true);
    if (!sleep_for(step.wait)) break;
    set_state(lifecycle_.retry(), "backoff elapsed");
  }
  set_state(lifecycle_.stop(), "stopping");
  release_waiters(true);
}

void RedisBus::connect_and_subscribe() {
  sub_ = std::make_unique<RedisConnection>(endpoint_, kIoTimeout);
  unanswered_.clear();
  std::vector<std::string> topics;
  {
    std::lock_guard lock(mutex_);
    topics = tracker_.reconnect();
  }
  std::vector<std::string> cmd = {"SUBSCRIBE", heads_channel_, sentinel_channel_};
  for (const auto& t : topics) cmd.push_back(redis::topic_channel(options_.prefix, t));
  sub_->append(cmd);
  sub_->flush();
  // Wait for every confirmation; messages that arrive meanwhile are kept and
  // handled after the recovery, so delivery stays in id order.
  std::vector<RedisReplyPtr> early;
  std::size_t confirmations = 0;
  const auto deadline = Clock::now() + kIoTimeout * 2;
  while (confirmations < cmd.size() - 1) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw Failure("no SUBSCRIBE confirmation in time");
    pollfd p{sub_->fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    sub_->read_available();
    while (auto r = sub_->next_reply()) {
      if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3 && text(*r->element[0]) == "subscribe") {
        ++confirmations;
        if (auto t = redis::channel_topic(options_.prefix, text(*r->element[1]))) {
          std::lock_guard lock(mutex_);
          tracker_.confirmed(*t);
        }
      } else {
        early.push_back(std::move(r));
      }
    }
  }
  // What arrived only in part on the old connection is read again from the mark.
  recover("subscribed");
  for (auto& r : early) handle(*r);
  flush_events();
  release_waiters(false);
}

// ---- serving ---------------------------------------------------------------

void RedisBus::serve() {
  next_store_check_ = Clock::now() + kStoreCheckInterval;
  while (!stopping_) {
    apply_topic_changes();
    // A probe that arrived while this thread waited on the store is not a miss.
    drain();
    check_unanswered();
    sentinel_tick();
    if (Clock::now() >= next_store_check_) {
      check_store_head();
      next_store_check_ = Clock::now() + kStoreCheckInterval;
    }
    auto due = std::min(sentinel_.next_due(), next_store_check_);
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now());
    int timeout = static_cast<int>(std::clamp<long long>(wait.count(), 0, 250));
    pollfd fds[2] = {{sub_->fd(), POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, timeout) < 0 && errno != EINTR) throw Failure("poll failed");
    if (fds[1].revents & POLLIN) {
      char buf[64];
      while (::read(wake_pipe_[0], buf, sizeof buf) > 0) {
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      sub_->read_available();
      while (auto r = sub_->next_reply()) handle(*r);
      flush_events();
    }
    release_confirmed();
  }
}

void RedisBus::drain(int max_rounds) {
  for (int rounds = 0; rounds < max_rounds; ++rounds) {
    pollfd p{sub_->fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) break;
    sub_->read_available();
    while (auto r = sub_->next_reply()) handle(*r);
  }
  flush_events();
}

void RedisBus::apply_topic_changes() {
  std::vector<SubscriptionTracker::Change> changes;
  {
    std::lock_guard lock(mutex_);
    changes = tracker_.changes();
  }
  if (changes.empty()) return;
  const auto now = Clock::now();
  for (auto& c : changes) {
    sub_->append({c.subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE",
                  redis::topic_channel(options_.prefix, c.topic)});
    unanswered_.push_back(now);
  }
  sub_->flush();
}

// A SUBSCRIBE that Redis never answers would keep the streams waiting for it (and
// with the sentinel off, for good): past the deadline the connection is given up,
// the streams go on, and the next connection subscribes and recovers.
void RedisBus::check_unanswered() {
  const auto overdue = [this] {
    return !unanswered_.empty() && Clock::now() - unanswered_.front() > kIoTimeout * 2;
  };
  if (!overdue()) return;
  // The answer may wait behind a backlog this thread has not read yet (it was
  // busy with the store): read everything there is before judging.
  drain(4096);
  if (overdue()) throw Failure("no SUBSCRIBE/UNSUBSCRIBE confirmation in time");
}

void RedisBus::handle(const redisReply& r) {
  if (r.type != REDIS_REPLY_ARRAY || r.elements < 3) return;
  const std::string kind = text(*r.element[0]);
  const std::string channel = text(*r.element[1]);
  if (kind == "message") {
    on_message(channel, text(*r.element[2]));
    return;
  }
  auto topic = redis::channel_topic(options_.prefix, channel);
  if (!topic) return;
  if (kind == "subscribe" || kind == "unsubscribe") {
    if (!unanswered_.empty()) unanswered_.pop_front();
    {
      std::lock_guard lock(mutex_);
      tracker_.confirmed(*topic);
      // A stream asking from now on waits for the release below too, even if
      // its topics are all active already.
      if (kind == "subscribe") release_pending_ = true;
    }
    if (kind == "subscribe") {
      // Everything heard before the confirmation, also what the sequencer still
      // holds for its batch's notice, reaches the hub before the streams it
      // completes begin: their hand-off marks where live delivery became complete
      // on every topic, and that mark must follow those events.
      release_after_ = std::max(release_after_, sequencer_.highest_buffered());
      release_confirmed();
    }
  }
}

void RedisBus::on_message(const std::string& channel, const std::string& payload) {
  bump(messages_);
  if (channel == heads_channel_) {
    auto notice = redis::decode_heads(payload);
    if (!notice) {
      bump(malformed_);
      spdlog::warn("redis bus: malformed heads notice dropped ({} bytes)", payload.size());
      return;
    }
    follow(sequencer_.on_notice(notice->base, notice->head), "missed batches");
    return;
  }
  if (channel == sentinel_channel_) {
    std::uint64_t token = 0;
    try {
      token = std::stoull(payload);
    } catch (...) {
      bump(malformed_);
      return;
    }
    if (auto rtt = sentinel_.received(token, Clock::now())) {
      sentinel_rtt_us_ = rtt->count();
      sentinel_at_ms_ = unix_ms();
      if (!sentinel_healthy_.exchange(true)) spdlog::info("redis sentinel is back");
    }
    return;
  }
  std::string error;
  auto ev = redis::decode_event(payload, error);
  if (!ev) {
    bump(malformed_);
    spdlog::warn("redis bus: malformed message on {} dropped: {}", channel, error);
    return;
  }
  follow(sequencer_.on_event(std::move(*ev)), "too many events without their batch's notice");
}

void RedisBus::follow(LiveSequencer::Step step, const char* why) {
  for (auto& ev : step.deliver) pending_events_.push_back(std::move(ev));
  if (!step.recover) return;
  flush_events();
  bump(gaps_);
  recover(why);
}

void RedisBus::flush_events() {
  if (pending_events_.empty()) return;
  auto batch = std::make_shared<EventBatch>(std::move(pending_events_));
  pending_events_.clear();
  if (sink_) sink_(std::move(batch));
}

// ---- recovery from the store -------------------------------------------------

void RedisBus::recover(const char* why) {
  const std::uint64_t after = sequencer_.complete_through();
  std::vector<std::string> active;
  {
    std::lock_guard lock(mutex_);
    // Not only the active ones: a topic whose last stream just left is still
    // subscribed (and one joined meanwhile is active again with no command), and
    // recovered() drops its events up to the head too.
    active = tracker_.known_topics();
  }
  std::vector<std::string_view> topics(active.begin(), active.end());
  pg_watch_.rearm();
  auto timer =
      scheduler_.schedule(Clock::now() + kIoTimeout * 2, [this] { pg_watch_.interrupt(); });
  pqxx::result rows;
  try {
    pqxx::connection& c = pg_.get();
    pg_watch_.attach(c.sock());
    pqxx::nontransaction n(c);
    rows = n.exec_params(pg::kReplaySql, pg::text_array(topics), after, options_.recovery_limit + 1,
                         epoch_);
    pg_watch_.detach();
  } catch (...) {
    pg_watch_.detach();
    scheduler_.cancel(timer);
    PgFailure f = pg_.fail(&pg_watch_);
    throw Failure(std::string("recovery from the store failed (") + why + "): " + f.message);
  }
  scheduler_.cancel(timer);
  pg_.drop_if_interrupted(pg_watch_);
  if (rows.empty()) throw Failure("the ssehub_meta row is missing");
  const StoreWindow window = pg::replay_window(rows);
  const std::uint64_t head = window.head_seq;
  const std::uint64_t pruned = window.pruned_through;
  const std::size_t found = pg::event_row_count(rows, pg::kReplayEventColumn);
  if (head > after && (found > options_.recovery_limit || after < pruned)) {
    bump(gaps_);
    spdlog::warn(
        "redis bus: {} after seq {}: more than {} events to recover; streams get "
        "replay-truncated at {}",
        why, after, options_.recovery_limit, head);
    if (gap_sink_) gap_sink_(epoch_, head);
  } else if (found > 0) {
    auto batch =
        std::make_shared<EventBatch>(pg::events_from_rows(rows, pg::kReplayEventColumn, epoch_));
    bump(recovered_, batch->size());
    spdlog::info("redis bus: recovered {} events after seq {} from the store ({})", batch->size(),
                 after, why);
    if (sink_) sink_(std::move(batch));
  }
  sequencer_.recovered(head);
}

std::uint64_t RedisBus::store_head() {
  pg_watch_.rearm();
  auto timer = scheduler_.schedule(Clock::now() + kIoTimeout, [this] { pg_watch_.interrupt(); });
  try {
    pqxx::connection& c = pg_.get();
    pg_watch_.attach(c.sock());
    pqxx::nontransaction n(c);
    auto head = n.exec1(pg::kHeadSql)[1].as<std::uint64_t>();
    pg_watch_.detach();
    scheduler_.cancel(timer);
    pg_.drop_if_interrupted(pg_watch_);
    return head;
  } catch (...) {
    pg_watch_.detach();
    scheduler_.cancel(timer);
    pg_.fail(&pg_watch_);
    return 0;
  }
}

// A commit that never reached Redis (its publisher lost Redis, or it was written
// in SQL) leaves the store ahead of what this replica heard. Allowing one check
// interval for the message to arrive, recover it.
void RedisBus::check_store_head() {
  if (sequencer_.store_ahead(store_head())) {
    flush_events();
    recover("store ahead of redis");
  }
}

// ---- sentinel ---------------------------------------------------------------

void RedisBus::sentinel_tick() {
  auto tick = sentinel_.tick(Clock::now());
  if (tick.missed) {
    ++sentinel_misses_;
    sentinel_healthy_ = false;
    spdlog::critical(
        "redis sentinel missed: probe on {} not received within {} ms; subscriber unhealthy, "
        "resubscribing",
        sentinel_channel_, options_.sentinel_timeout.count());
    throw Failure("sentinel probe not received within bus.sentinel_timeout_ms");
  }
  if (!tick.publish) return;
  try {
    if (!probe_) probe_ = std::make_unique<RedisConnection>(endpoint_, kIoTimeout);
    probe_->command({"PUBLISH", sentinel_channel_, std::to_string(*tick.publish)});
  } catch (const std::exception& e) {
    // The probe is lost; its miss is what reports it.
    probe_.reset();
    spdlog::warn("redis sentinel probe not sent: {}", e.what());
  }
}

// ---- topics and waiters -------------------------------------------------------

void RedisBus::topic_added(const std::string& topic) {
  {
    std::lock_guard lock(mutex_);
    tracker_.want(topic);
  }
  wake();
}

void RedisBus::topic_removed(const std::string& topic) {
  {
    std::lock_guard lock(mutex_);
    tracker_.unwant(topic);
  }
  wake();
}

bool RedisBus::subscribed(const std::vector<std::string>& topics, std::function<void()> later) {
  std::lock_guard lock(mutex_);
  // Not connected: the next connection subscribes to these topics and recovers
  // what the streams miss meanwhile.
  auto st = state_.load();
  if (st == SubscriberState::reconnecting || st == SubscriberState::closed) return true;
  Waiter w;
  for (const auto& t : topics) {
    if (!tracker_.active(t)) w.missing.insert(t);
  }
  if (w.missing.empty() && !release_pending_) return true;
  w.done = std::move(later);
  waiters_.push_back(std::move(w));
  return false;
}

void RedisBus::release_confirmed() {
  {
    std::lock_guard lock(mutex_);
    if (!release_pending_) return;
  }
  if (sequencer_.complete_through() < release_after_) return;
  flush_events();
  release_after_ = 0;
  release_waiters(false);
}

std::uint64_t RedisBus::incomplete_through() const {
  std::lock_guard lock(mutex_);
  return released_through_;
}

void RedisBus::release_waiters(bool give_up) {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mutex_);
    // A stream that skips the wait from now on may still be offered what was
    // dispatched up to here (it waits in its reactor's inbox), without the events
    // of topics confirmed meanwhile: it begins past this mark.
    released_through_ = std::max(released_through_, sequencer_.complete_through());
    release_pending_ = false;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      for (auto m = it->missing.begin(); m != it->missing.end();) {
        m = tracker_.active(*m) ? it->missing.erase(m) : std::next(m);
      }
      if (it->missing.empty() || give_up) {
        ready.push_back(std::move(it->done));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& f : ready) f();
}

// ---- publishing (inside the store's ordered section) ---------------------------

void RedisBus::publish(EventBatchPtr batch) {
  if (!batch || batch->empty()) return;
  std::lock_guard lock(publish_mutex_);
  if (Clock::now() < publish_retry_at_) {
    bump(publish_failures_);
    return;
  }
  try {
    if (!pub_) pub_ = std::make_unique<RedisConnection>(endpoint_, kIoTimeout);
    // The notice goes last: it tells subscribers the whole batch is out.
    for (const auto& ev : *batch) {
      pub_->append(
          {"PUBLISH", redis::topic_channel(options_.prefix, ev.topic), redis::encode_event(ev)});
    }
    redis::HeadsNotice notice{batch->front().seq - 1, batch->back().seq};
    pub_->append({"PUBLISH", heads_channel_, redis::encode_heads(notice)});
    pub_->flush();
    for (std::size_t i = 0; i <= batch->size(); ++i) pub_->read_reply();
    bump(published_, batch->size());
  } catch (const std::exception& e) {
    pub_.reset();
    publish_retry_at_ = Clock::now() + kPublishBackoff;
    bump(publish_failures_);
    spdlog::error(
        "redis publish failed: {}; events stay in the store and are recovered by "
        "subscribers",
        e.what());
  }
}

// ---- health -------------------------------------------------------------------

bool RedisBus::ready() const {
  return state_ == SubscriberState::ready && (!sentinel_.enabled() || sentinel_healthy_);
}

std::string RedisBus::health_json() const {
  using json = nlohmann::json;
  std::string error;
  std::size_t topics;
  {
    std::lock_guard lock(mutex_);
    error = last_error_;
    topics = tracker_.active_count();
  }
  auto rtt = sentinel_rtt_us_.load();
  json j = {
      {"kind", "redis"},
      {"state", to_string(state_.load())},
      {"since", state_since_ms_.load()},
      {"sentinel",
       {{"enabled", sentinel_.enabled()},
        {"healthy", sentinel_healthy_.load()},
        {"lastRoundTripMs", rtt < 0 ? json(nullptr) : json(static_cast<double>(rtt) / 1000.0)},
        {"lastAt", sentinel_at_ms_.load() == 0 ? json(nullptr) : json(sentinel_at_ms_.load())},
        {"misses", sentinel_misses_.load()}}},
      {"subscribedTopics", topics},
      {"lastError", error.empty() ? json(nullptr) : json(error)},
  };
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void RedisBus::render_metrics(std::string& out) const {
  const auto st = state_.load();
  out +=
      "# HELP ssehub_redis_subscriber_state 1 for the subscriber's current state.\n"
      "# TYPE ssehub_redis_subscriber_state gauge\n";
  for (auto s : {SubscriberState::closed, SubscriberState::connecting, SubscriberState::ready,
                 SubscriberState::reconnecting}) {
    out += "ssehub_redis_subscriber_state{state=\"" + std::string(to_string(s)) + "\"} " +
           (s == st ? "1" : "0") + "\n";
  }
  std::size_t topics;
  {
    std::lock_guard lock(mutex_);
    topics = tracker_.active_count();
  }
  append_metric(out, "ssehub_redis_subscribed_topics", "gauge",
                "Topic channels this replica is subscribed to.", static_cast<double>(topics));
  append_metric(out, "ssehub_redis_sentinel_healthy", "gauge",
                "1 while sentinel probes come back in time.", sentinel_healthy_ ? 1 : 0);
  auto rtt = sentinel_rtt_us_.load();
  append_metric(out, "ssehub_redis_sentinel_round_trip_seconds", "gauge",
                "Round trip of the last sentinel probe.", rtt < 0 ? 0 : rtt / 1e6);
  append_metric(out, "ssehub_redis_sentinel_misses_total", "counter",
                "Sentinel probes not received in time.", sentinel_misses_.load());
  append_metric(out, "ssehub_redis_reconnects_total", "counter", "Subscriber reconnects.",
                reconnects_.load());
  append_metric(out, "ssehub_redis_messages_total", "counter", "Messages received.",
                messages_.load());
  append_metric(out, "ssehub_redis_malformed_messages_total", "counter",
                "Messages dropped as malformed.", malformed_.load());
  append_metric(out, "ssehub_redis_recovered_events_total", "counter",
                "Events recovered from the store that Redis did not bring.", recovered_.load());
  append_metric(out, "ssehub_redis_gaps_total", "counter",
                "Gaps detected (missed batches, recoveries past the bound).", gaps_.load());
  append_metric(out, "ssehub_redis_published_events_total", "counter", "Events published to Redis.",
                published_.load());
  append_metric(out, "ssehub_redis_publish_failures_total", "counter",
                "Batches not published to Redis (recovered from the store).",
                publish_failures_.load());
}

}  // namespace ssehub
