#include "subscriber.hpp"

#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "store_reader.hpp"
#include "test_support.hpp"

namespace ssehub::chaos {
namespace {

constexpr Ms kHeadTimeout{3000};
// No byte for this long (three heartbeats) means a dead stream, as the JS client decides.
constexpr Ms kSilence{3000};
constexpr Ms kReadSlice{250};
constexpr Ms kDrainPatience{4000};

}  // namespace

Subscriber::Subscriber(int id, std::vector<std::string> topics, bool slow, const RunContext& ctx,
                       Rng rng)
    : slow_(slow), ctx_(ctx), rng_(rng) {
  history.id = id;
  history.topics = std::move(topics);
  target_ = "/events";
  for (std::size_t i = 0; i < history.topics.size(); ++i) {
    target_ += (i ? "&topic=" : "?topic=") + history.topics[i];
  }
}

void Subscriber::run(const Control& control) {
  while (!control.stop) {
    hold_stream(control);
    nap(Ms(rng_.between(10, 150)), control.stop);
  }
}

void Subscriber::hold_stream(const Control& control) {
  const int replica = static_cast<int>(rng_.between(0, ctx_.ports.size() - 1));
  Connection conn;
  conn.replica = replica;
  conn.opened_ms = ctx_.clock.now_ms();
  if (last_id_.empty() && history.start)
    last_id_ = ctx_.epoch + "-" + std::to_string(*history.start);
  conn.last_event_id = last_id_;
  std::map<std::string, std::string> headers;
  if (!last_id_.empty()) headers["Last-Event-ID"] = last_id_;
  test::SseStream stream(ctx_.ports[static_cast<std::size_t>(replica)], target_, headers);
  if (slow_ && stream.fd() >= 0) {
    // A small window: the server's buffers fill, not the kernel's, when it stalls.
    int bytes = 32768;
    ::setsockopt(stream.fd(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  conn.status = stream.read_head(kHeadTimeout);
  if (conn.status != 200) {
    conn.end = conn.status ? "refused " + std::to_string(conn.status) : "no response";
    ++refused;
    history.connections.push_back(std::move(conn));
    nap(Ms(rng_.between(50, 400)), control.stop);
    return;
  }
  // A slow reader holds its stream longer, so that the server's queue limit can bite.
  const auto lifetime = slow_ ? Ms(rng_.between(5000, 40000)) : Ms(rng_.between(300, 10000));
  const auto opened = std::chrono::steady_clock::now();
  auto last_byte = opened;
  auto last_id = opened;  // the last event or replay-truncated
  for (;;) {
    if (control.stop) {
      conn.end = "run over";
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!control.draining && now - opened >= lifetime) {
      conn.end = "client reconnect";
      break;
    }
    if (control.draining && now - last_id > kDrainPatience) {
      // Nothing new while draining, say after a replay-failed: replay again.
      conn.end = "no progress while draining";
      break;
    }
    auto e = stream.next(kReadSlice);
    if (!e) {
      if (stream.closed()) {
        conn.end = "closed by server";
        break;
      }
      if (std::chrono::steady_clock::now() - last_byte > kSilence) {
        conn.end = "silent for 3 s";
        break;
      }
      continue;
    }
    last_byte = std::chrono::steady_clock::now();
    if (e->type == "heartbeat" && !e->id) continue;
    take(e->id, e->type, e->data, conn);
    if (e->id) last_id = last_byte;
    if (slow_ && !control.draining && e->id) {
      // Now and then a stall of a few seconds, else a few milliseconds per event.
      std::this_thread::sleep_for(rng_.chance(0.001) ? Ms(rng_.between(2000, 8000))
                                                     : Ms(rng_.between(2, 10)));
      last_byte = std::chrono::steady_clock::now();
    }
  }
  history.connections.push_back(std::move(conn));
}

void Subscriber::take(const std::optional<std::string>& id, const std::string& type,
                      const std::string& data, Connection& conn) {
  Delivery d;
  d.type = type;
  d.id = id.value_or("");
  if (type == "ready" && !id) {
    d.kind = Delivery::Kind::ready;
    conn.items.push_back(std::move(d));
    if (!history.start) {
      // Every event committed after this read must reach the subscriber.
      if (auto head = read_head(ctx_.conninfo)) {
        history.start = *head;
        start_ = *head;
        anchored_ = true;
      }
    }
    return;
  }
  if ((type == "replay-failed" && !id) || (type == "replay-truncated" && id)) {
    d.kind = type == "replay-failed" ? Delivery::Kind::failed : Delivery::Kind::truncated;
    auto j = nlohmann::json::parse(data, nullptr, false);
    if (j.is_object() && j.contains("reason") && j["reason"].is_string()) {
      d.reason = j["reason"].get<std::string>();
    }
  } else if (id) {
    d.kind = Delivery::Kind::event;
    auto j = nlohmann::json::parse(data, nullptr, false);
    if (j.is_object()) {
      if (auto m = j.find("m"); m != j.end() && m->is_number_unsigned())
        d.marker = m->get<Marker>();
      if (auto t = j.find("t"); t != j.end() && t->is_string()) d.topic = t->get<std::string>();
    }
  } else {
    d.kind = Delivery::Kind::other;
  }
  if (id) {
    last_id_ = *id;
    if (auto p = parse_id(*id)) held_ = p->seq;
  }
  conn.items.push_back(std::move(d));
}

}  // namespace ssehub::chaos
