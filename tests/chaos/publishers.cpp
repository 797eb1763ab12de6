#include "publishers.hpp"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "http_post.hpp"

namespace ssehub::chaos {
namespace {

constexpr Ms kPostTimeout{6000};  // store.publish_timeout_ms (2 s) and a margin
constexpr std::size_t kMaxBatch = 1000;
constexpr std::size_t kEventOverhead = 96;  // JSON around one event's padding

std::string event_json(const std::string& topic, Marker marker, std::size_t pad) {
  std::string s = R"({"topic":")" + topic + R"(","type":"e","data":{"m":)" +
                  std::to_string(marker) + R"(,"t":")" + topic + '"';
  if (pad > 0) s += R"(,"p":")" + std::string(pad, 'x') + '"';
  return s + "}}";
}

std::string shorten(std::string s, std::size_t n = 160) {
  if (s.size() > n) s = s.substr(0, n) + "...";
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

HttpPublisher::HttpPublisher(int index, const RunContext& ctx, Rng rng)
    : index_(index), ctx_(ctx), rng_(rng) {}

std::string HttpPublisher::build_body(std::size_t n, bool heavy, PublishOp& op) {
  const std::size_t budget = ctx_.max_body_bytes - 1024;
  const std::size_t cap = budget / n > kEventOverhead ? budget / n - kEventOverhead : 0;
  // At times a large array fills the body: a megabyte in one Redis pipeline.
  heavy = heavy || (n >= 400 && rng_.chance(0.3));
  std::string body = n > 1 || rng_.chance(0.5) ? "[" : "";
  const bool array = !body.empty();
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& topic =
        ctx_.topics[static_cast<std::size_t>(rng_.between(0, ctx_.topics.size() - 1))];
    const Marker marker = make_marker(kHttpSource + index_, ++counter_);
    // Mostly small, at times large: enough bytes to fill queues and bound replays,
    // not so many that every reconnect is past the replay bounds.
    const std::int64_t roll = rng_.between(0, 99);
    std::size_t pad;
    if (heavy) {
      pad = cap;
    } else if (n > 1) {
      pad = static_cast<std::size_t>(roll < 92 ? rng_.between(0, 200) : rng_.between(200, 2048));
    } else if (roll < 75) {
      pad = static_cast<std::size_t>(rng_.between(0, 300));
    } else if (roll < 92) {
      pad = static_cast<std::size_t>(rng_.between(300, 16384));
    } else if (roll < 98) {
      pad = static_cast<std::size_t>(rng_.between(16384, 262144));
    } else {
      pad = static_cast<std::size_t>(rng_.between(262144, static_cast<std::int64_t>(cap)));
    }
    pad = std::min(pad, cap);
    if (i > 0) body += ',';
    body += event_json(topic, marker, pad);
    op.events.push_back({topic, marker});
  }
  if (array) body += ']';
  return body;
}

void HttpPublisher::send(int replica, const std::string& body, PublishOp op) {
  const PostResult r =
      post_json(ctx_.ports[static_cast<std::size_t>(replica)], "/publish", body, kPostTimeout);
  op.status = r.status;
  if (r.status == 201 && r.error.empty()) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("ids") && j["ids"].is_array()) {
      op.outcome = PublishOp::Outcome::ok;
      for (const auto& id : j["ids"]) op.ids.push_back(id.is_string() ? id.get<std::string>() : "");
    } else {
      op.outcome = PublishOp::Outcome::unknown;
      op.detail = "unreadable 201 body: " + shorten(r.body);
    }
  } else if (r.status >= 400 && r.status < 500 && r.error.empty()) {
    op.outcome = PublishOp::Outcome::failed;
    op.detail = shorten(r.body);
  } else {
    op.outcome = PublishOp::Outcome::unknown;
    op.detail = r.error.empty() ? shorten(r.body) : r.error;
  }
  ops.push_back(std::move(op));
}

void HttpPublisher::run(const Control& control) {
  while (!control.stop_publishing) {
    const int replica = static_cast<int>(rng_.between(0, ctx_.ports.size() - 1));
    PublishOp op;
    op.source = "http p" + std::to_string(index_) + " -> replica " + std::to_string(replica) +
                " at t=" + std::to_string(ctx_.clock.now_ms()) + "ms";
    std::string body;
    const std::int64_t roll = rng_.between(0, 99);
    const std::uint64_t bursts = control.heavy_bursts;
    if (bursts != bursts_seen_) {
      bursts_seen_ = bursts;
      body = build_body(kMaxBatch, true, op);
    } else if (roll == 0) {
      // Past server.max_body_bytes: a definite 413.
      const Marker marker = make_marker(kHttpSource + index_, ++counter_);
      body = event_json(ctx_.topics.front(), marker, ctx_.max_body_bytes);
      op.events.push_back({ctx_.topics.front(), marker});
    } else {
      std::size_t n = 1;
      if (roll >= 55 && roll < 80) {
        n = static_cast<std::size_t>(rng_.between(2, 50));
      } else if (roll >= 80 && roll < 90) {
        n = static_cast<std::size_t>(rng_.between(51, 400));
      } else if (roll >= 90) {
        n = rng_.chance(0.5) ? kMaxBatch : static_cast<std::size_t>(rng_.between(401, kMaxBatch));
      }
      body = build_body(n, false, op);
    }
    send(replica, body, std::move(op));
    nap(Ms(rng_.between(10, 250)), control.stop_publishing);
  }
}

SqlPublisher::SqlPublisher(const RunContext& ctx, std::string conninfo, Rng rng)
    : ctx_(ctx), conninfo_(std::move(conninfo)), rng_(rng) {}

void SqlPublisher::run(const Control& control) {
  std::unique_ptr<pqxx::connection> conn;
  while (nap(Ms(rng_.between(30, 300)), control.stop_publishing)) {
    if (!conn) {
      try {
        conn = std::make_unique<pqxx::connection>(conninfo_);
      } catch (const std::exception&) {
        continue;
      }
    }
    const auto n = static_cast<std::size_t>(rng_.between(1, 20));
    const bool rollback = rng_.chance(0.25);
    PublishOp op;
    op.source = "sql at t=" + std::to_string(ctx_.clock.now_ms()) + "ms";
    std::string values;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string& topic =
          ctx_.topics[static_cast<std::size_t>(rng_.between(0, ctx_.topics.size() - 1))];
      const Marker marker = make_marker(kSqlSource, ++counter_);
      const std::string data = R"({"m":)" + std::to_string(marker) + R"(,"t":")" + topic + R"("})";
      values +=
          (i ? ", (" : "(") + std::to_string(i + 1) + ", '" + topic + "', 'sql', '" + data + "')";
      op.events.push_back({topic, marker});
    }
    const std::string count = std::to_string(n);
    const std::string sql = "WITH h AS (UPDATE ssehub_meta SET head_seq = head_seq + " + count +
                            " WHERE id = 1 RETURNING head_seq - " + count +
                            " AS base) INSERT INTO ssehub_events (seq, topic, type, data) "
                            "SELECT h.base + e.n, e.topic, e.type, e.data::jsonb FROM h, (VALUES " +
                            values + ") AS e(n, topic, type, data) RETURNING seq";
    bool drop = false;  // after the transaction object is gone
    try {
      pqxx::work w(*conn);
      const pqxx::result rows = w.exec(sql);
      w.exec("SELECT pg_notify('ssehub_events', '')");
      // seq = base + n: in seq order the rows are the VALUES in order.
      std::vector<Seq> seqs;
      for (const auto& row : rows) seqs.push_back(row[0].as<Seq>());
      std::sort(seqs.begin(), seqs.end());
      std::vector<std::string> ids;
      for (Seq seq : seqs) ids.push_back(ctx_.epoch + "-" + std::to_string(seq));
      if (rollback) {
        w.abort();
        op.outcome = PublishOp::Outcome::failed;
        op.detail = "rolled back";
        ++rolled_back;
      } else {
        try {
          w.commit();
          op.outcome = PublishOp::Outcome::ok;
          op.ids = std::move(ids);
        } catch (const std::exception& e) {
          op.outcome = PublishOp::Outcome::unknown;
          op.detail = "COMMIT: " + shorten(e.what());
          drop = true;
        }
      }
    } catch (const std::exception& e) {
      // Nothing was committed: the transaction ended before COMMIT was sent.
      op.outcome = PublishOp::Outcome::failed;
      op.detail = shorten(e.what());
      drop = true;
    }
    if (drop) conn.reset();
    ops.push_back(std::move(op));
  }
}

}  // namespace ssehub::chaos
