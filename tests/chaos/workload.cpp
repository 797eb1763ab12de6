#include "workload.hpp"

#include <algorithm>

#include "store_reader.hpp"

namespace ssehub::chaos {
namespace {

constexpr int kHttpPublishers = 3;
constexpr Ms kDrainBound{60000};

}  // namespace

void OpTally::add(const std::vector<PublishOp>& ops) {
  for (const auto& op : ops) {
    switch (op.outcome) {
      case PublishOp::Outcome::ok:
        ++ok;
        ok_events += op.events.size();
        break;
      case PublishOp::Outcome::failed:
        ++failed;
        break;
      case PublishOp::Outcome::unknown:
        ++unknown;
        break;
    }
  }
}

std::string OpTally::text() const {
  return std::to_string(ok) + " acknowledged (" + std::to_string(ok_events) + " events), " +
         std::to_string(failed) + " refused, " + std::to_string(unknown) + " unknown";
}

Workload::Workload(const RunContext& ctx, Control& control, const Options& options,
                   std::string sql_conninfo)
    : ctx_(ctx), control_(control), options_(options), sql_conninfo_(std::move(sql_conninfo)) {}

Workload::~Workload() {
  control_.stop_publishing = true;
  control_.stop = true;
  join_publishers();
  join_readers();
}

void Workload::start() {
  Rng rng(options_.seed);
  for (int i = 0; i < options_.subscribers; ++i) {
    Rng r = rng.fork(100 + static_cast<std::uint64_t>(i));
    std::vector<std::string> pool = ctx_.topics;
    std::vector<std::string> topics;
    for (auto n = r.between(1, 3); n > 0; --n) {
      const auto at = static_cast<std::size_t>(r.between(0, pool.size() - 1));
      topics.push_back(pool[at]);
      pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(at));
    }
    const bool slow = i % 4 == 3;
    if (slow) slow_subscribers.push_back(i);
    subscribers_.push_back(std::make_unique<Subscriber>(i, topics, slow, ctx_, r));
  }
  for (int i = 0; i < static_cast<int>(ctx_.ports.size()); ++i) {
    watchers_.push_back(std::make_unique<ProbeWatcher>(i, ctx_));
  }
  for (int i = 0; i < kHttpPublishers; ++i) {
    http_.push_back(
        std::make_unique<HttpPublisher>(i, ctx_, rng.fork(200 + static_cast<std::uint64_t>(i))));
  }
  sql_ = std::make_unique<SqlPublisher>(ctx_, sql_conninfo_, rng.fork(300));
  probe_ = std::make_unique<ProbePublisher>(ctx_, rng.fork(400));

  const Control& c = control_;
  for (auto& s : subscribers_) reader_threads_.emplace_back([&s, &c] { s->run(c); });
  for (auto& p : watchers_) {
    reader_threads_.emplace_back([&p, &c] { p->run_stream(c); });
    reader_threads_.emplace_back([&p, &c] { p->run_readiness(c); });
  }
  for (auto& p : http_) publisher_threads_.emplace_back([&p, &c] { p->run(c); });
  publisher_threads_.emplace_back([this, &c] { sql_->run(c); });
  publisher_threads_.emplace_back([this, &c] { probe_->run(c); });
}

void Workload::join_publishers() {
  for (auto& t : publisher_threads_) t.join();
  publisher_threads_.clear();
}

void Workload::join_readers() {
  for (auto& t : reader_threads_) t.join();
  reader_threads_.clear();
}

std::vector<std::string> Workload::drain() {
  const auto deadline = std::chrono::steady_clock::now() + kDrainBound;
  std::map<std::string, Seq> previous;
  std::vector<std::string> behind;
  while (std::chrono::steady_clock::now() < deadline) {
    std::map<std::string, Seq> heads;
    try {
      heads = read_topic_heads(ctx_.conninfo);
    } catch (const std::exception&) {
      std::this_thread::sleep_for(Ms(250));
      continue;
    }
    behind.clear();
    for (const auto& s : subscribers_) {
      Seq target = 0;
      for (const auto& t : s->history.topics) target = std::max(target, heads[t]);
      const std::string name = "subscriber " + std::to_string(s->history.id);
      if (!s->anchored()) {
        behind.push_back(name + " has no start mark");
      } else if (s->position() < target) {
        behind.push_back(name + " at seq " + std::to_string(s->position()) + " of " +
                         std::to_string(target));
      }
    }
    if (behind.empty() && heads == previous) return {};
    previous = behind.empty() ? heads : std::map<std::string, Seq>{};
    std::this_thread::sleep_for(Ms(250));
  }
  return behind;
}

void Workload::record(History& h) {
  for (auto& p : http_) {
    http.add(p->ops);
    std::move(p->ops.begin(), p->ops.end(), std::back_inserter(h.publishes));
  }
  sql.add(sql_->ops);
  sql_rolled_back = sql_->rolled_back;
  std::move(sql_->ops.begin(), sql_->ops.end(), std::back_inserter(h.publishes));
  probe.add(probe_->ops);
  std::move(probe_->ops.begin(), probe_->ops.end(), std::back_inserter(h.publishes));
  for (auto& s : subscribers_) {
    connections += s->history.connections.size();
    refused += s->refused;
    for (const auto& c : s->history.connections) ++connection_ends[c.end];
    h.subscribers.push_back(std::move(s->history));
  }
}

void Workload::record(FreshnessHistory& h) const {
  h.probes = probe_->probes;
  for (const auto& p : watchers_) {
    h.readiness.insert(h.readiness.end(), p->samples.begin(), p->samples.end());
    h.streams.insert(h.streams.end(), p->streams.begin(), p->streams.end());
  }
}

}  // namespace ssehub::chaos
