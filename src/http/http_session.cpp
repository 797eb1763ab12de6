#include "http/http_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include "stream/stream_session.hpp"
#include "stream/worker.hpp"

namespace ssehub {
namespace {

ApiError error(unsigned status, std::string code, std::string detail) {
  return ApiError{status, std::move(code), std::move(detail), {}};
}

// Adds "Name: value\r\n" lines, as produced by CorsPolicy::headers.
template <typename Message>
void add_header_lines(Message& m, std::string_view lines) {
  while (!lines.empty()) {
    auto eol = lines.find("\r\n");
    auto line = lines.substr(0, eol);
    auto colon = line.find(": ");
    if (colon != std::string_view::npos) {
      auto name = line.substr(0, colon);
      auto value = line.substr(colon + 2);
      m.set(beast::string_view(name.data(), name.size()),
            beast::string_view(value.data(), value.size()));
    }
    if (eol == std::string_view::npos) break;
    lines.remove_prefix(eol + 2);
  }
}

template <typename Field>
std::optional<std::string_view> header(const http::request<http::string_body>& req, Field f) {
  auto it = req.find(f);
  if (it == req.end()) return std::nullopt;
  return std::string_view(it->value().data(), it->value().size());
}

}  // namespace

std::variant<Principal, ApiError> HttpSession::authenticate(const Request& req,
                                                            const Target& target) const {
  return deps_.auth.authenticate(extract_token(header(req, http::field::authorization), target,
                                               header(req, http::field::cookie)));
}

HttpSession::HttpSession(tcp::socket socket, Worker& worker, ConnectionSlot slot,
                         bool over_capacity)
    : stream_(std::move(socket)),
      worker_(worker),
      deps_(worker.http_deps()),
      slot_(std::move(slot)),
      over_capacity_(over_capacity) {}

void HttpSession::run() {
  do_read();
}

void HttpSession::do_read() {
  parser_.emplace();
  const auto& server = deps_.server;
  parser_->header_limit(static_cast<std::uint32_t>(server.max_request_head_bytes));
  parser_->body_limit(server.max_body_bytes);
  // A request head or body that does not arrive in time ends the connection.
  stream_.expires_after(std::chrono::milliseconds(server.request_timeout_ms));
  http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
}

void HttpSession::on_read(error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream || ec == net::error::eof) return do_close();
  if (ec == beast::error::timeout) {
    bump(deps_.metrics.request_timeouts);
    spdlog::info("request not read within server.request_timeout_ms ({} ms); closing",
                 deps_.server.request_timeout_ms);
    return do_close();
  }
  if (ec == http::error::header_limit) {
    return send_error(error(431, "header_too_large",
                            "request head is larger than server.max_request_head_bytes (" +
                                std::to_string(deps_.server.max_request_head_bytes) + ")"),
                      false);
  }
  if (ec == http::error::body_limit) {
    return send_error(error(413, "body_too_large",
                            "request body is larger than server.max_body_bytes (" +
                                std::to_string(deps_.server.max_body_bytes) + ")"),
                      false);
  }
  if (ec) {
    if (ec.category() == make_error_code(http::error::bad_target).category() ||
        ec == http::error::partial_message) {
      return send_error(error(400, "bad_request", "malformed HTTP request: " + ec.message()),
                        false);
    }
    return do_close();
  }
  const Request req = parser_->release();
  handle(req);
}

std::string HttpSession::cors_for(const Request& req) const {
  auto it = req.find(http::field::origin);
  if (it == req.end()) return {};
  return deps_.cors.headers(std::string_view(it->value().data(), it->value().size()));
}

namespace {

Method method_of(http::verb v) {
  switch (v) {
    case http::verb::get:
      return Method::get;
    case http::verb::head:
      return Method::head;
    case http::verb::post:
      return Method::post;
    case http::verb::options:
      return Method::options;
    default:
      return Method::other;
  }
}

}  // namespace

void HttpSession::handle(const Request& req) {
  auto origin = req.find(http::field::origin);
  origin_ = origin == req.end() ? std::string() : std::string(origin->value());
  RouteRequest in;
  in.method = method_of(req.method());
  in.target = std::string_view(req.target().data(), req.target().size());
  in.last_event_id = header(req, "Last-Event-ID");
  in.origin_allowed = in.method == Method::options && !cors_for(req).empty();
  in.over_capacity = over_capacity_;
  in.draining = deps_.draining.load();
  auto routed = route(in, RouteLimits{deps_.server.max_url_bytes, deps_.stream.max_topics});
  const bool keep = req.keep_alive();
  if (auto* refusal = std::get_if<Refusal>(&routed)) {
    if (refusal->capacity) bump(deps_.metrics.capacity_rejections);
    return send_error(refusal->error, keep && !refusal->close);
  }
  Route& r = std::get<Route>(routed);
  switch (r.endpoint) {
    case Endpoint::preflight:
      return send_preflight(req);
    case Endpoint::events:
      return handle_events(req, r.target, std::move(*r.events));
    case Endpoint::publish:
      return handle_publish(req, r.target);
    case Endpoint::live:
    case Endpoint::ready:
    case Endpoint::metrics:
      return send_probe(req, r);
  }
}

void HttpSession::send_preflight(const Request& req) {
  Response res{http::status::no_content, req.version()};
  add_header_lines(res, cors_for(req));
  res.set(http::field::access_control_allow_methods, "GET, POST, OPTIONS");
  res.set(http::field::access_control_allow_headers, "Authorization, Content-Type, Last-Event-ID");
  res.set(http::field::access_control_max_age, "600");
  res.keep_alive(req.keep_alive());
  send(std::move(res));
}

void HttpSession::send_probe(const Request& req, const Route& r) {
  Response res{http::status::ok, req.version()};
  if (r.endpoint == Endpoint::metrics) {
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    res.body() = deps_.metrics.render([this](std::string& out) {
      deps_.store.render_metrics(out);
      deps_.bus.render_metrics(out);
    });
  } else if (r.endpoint == Endpoint::live) {
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"status":"live"})";
  } else {
    auto h = deps_.health();
    res.result(h.ready ? http::status::ok : http::status::service_unavailable);
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(h.json);
  }
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  if (r.head) {
    res.prepare_payload();
    auto length = res.body().size();
    res.body().clear();
    res.content_length(length);
    return send(std::move(res), /*prepared=*/true);
  }
  send(std::move(res));
}

void HttpSession::handle_events(const Request& req, const Target& target, EventsRequest request) {
  auto auth = authenticate(req, target);
  if (auto* e = std::get_if<ApiError>(&auth)) return send_error(*e, req.keep_alive());
  auto& who = std::get<Principal>(auth);
  if (auto denied = who.denied_subscribe(request.topics)) {
    return send_error(error(403, "forbidden", "the token may not subscribe to topic " + *denied),
                      req.keep_alive());
  }
  if (!who.subject.empty() && !deps_.subjects.acquire(who.subject)) {
    spdlog::warn("subject at stream.max_connections_per_subject ({})",
                 deps_.stream.max_connections_per_subject);
    return send_error(error(429, "too_many_streams",
                            "this subject has stream.max_connections_per_subject streams open"),
                      false);
  }
  // The connection now belongs to the stream; the request deadline no longer applies.
  stream_.expires_never();
  auto session =
      std::make_shared<StreamSession>(stream_.release_socket(), worker_, std::move(request),
                                      std::move(slot_), cors_for(req), who.subject, who.expires_at);
  session->start();
}

void HttpSession::handle_publish(const Request& req, const Target& target) {
  bump(deps_.metrics.publish_requests);
  const bool keep = req.keep_alive();
  auto auth = authenticate(req, target);
  if (auto* e = std::get_if<ApiError>(&auth)) return send_error(*e, keep);
  auto ct = req.find(http::field::content_type);
  if (ct == req.end() ||
      !is_json_content_type(std::string_view(ct->value().data(), ct->value().size()))) {
    return send_error(error(415, "unsupported_media_type", "Content-Type must be application/json"),
                      keep);
  }
  auto parsed = parse_publish_body(req.body(), deps_.server.max_publish_batch);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(*e, keep);
  auto events = std::move(std::get<std::vector<NewEvent>>(parsed));
  std::vector<std::string> topics;
  for (std::size_t i = 0; i < events.size(); ++i) {
    // A frame larger than a stream's queue could never be delivered, measured as
    // a replay from Postgres would frame it.
    const auto& ev = events[i];
    std::size_t frame_bytes = stored_json_bytes(ev.data) + ev.type.size() + 64;
    if (frame_bytes > deps_.stream.queue_limit_bytes) {
      return send_error(
          error(413, "event_too_large",
                "event " + std::to_string(i) + " is larger than " + "stream.queue_limit_bytes (" +
                    std::to_string(deps_.stream.queue_limit_bytes) + ")"),
          keep);
    }
    topics.push_back(ev.topic);
  }
  if (auto denied = std::get<Principal>(auth).denied_publish(topics)) {
    return send_error(error(403, "forbidden", "the token may not publish to topic " + *denied),
                      keep);
  }
  // A publisher does not wait for fan-out; one that outruns it is told to back off.
  if (const FanoutBacklog behind = deps_.fanout_backlog();
      fanout_backlogged(behind, deps_.stream.max_fanout_backlog, kMaxInboxBytes)) {
    bump(deps_.metrics.publish_backlog_refusals);
    return send_error(
        error(503, "fanout_backlog",
              "fan-out is " + std::to_string(behind.events) + " events (" +
                  std::to_string(behind.bytes >> 20) + " MiB) behind (stream.max_fanout_backlog " +
                  std::to_string(deps_.stream.max_fanout_backlog) + "); retry later"),
        keep);
  }
  const std::size_t count = events.size();
  const unsigned version = req.version();
  auto self = shared_from_this();
  auto started = std::chrono::steady_clock::now();
  EventBus* bus = &deps_.bus;
  deps_.store.append(
      std::move(events), [bus](EventBatchPtr batch) { bus->publish(std::move(batch)); },
      [self, keep, version, count, started](AppendResult r) {
        // The answer goes out as soon as the store accepted the batch: on this
        // thread at once (a store that answers inline), ahead of the fan-out it
        // just queued here; from a store thread, between two fan-out slices.
        net::dispatch(self->worker_.io(), [self, keep, version, count, started, r = std::move(r)] {
          auto& m = self->deps_.metrics;
          m.publish_seconds.observe(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
          if (!r.ok) {
            bump(m.publish_failures);
            spdlog::error("publish failed: {}", r.error);
            return self->send_error(
                error(503, "store_unavailable", "the event store is unavailable: " + r.error),
                keep);
          }
          bump(m.events_published, count);
          m.publish_batch_size.observe(static_cast<double>(count));
          Response res{http::status::created, version};
          res.set(http::field::content_type, "application/json");
          res.body() = nlohmann::json{{"ids", r.ids}}.dump();
          res.keep_alive(keep);
          self->send(std::move(res));
        });
      });
}

void HttpSession::send_error(const ApiError& e, bool keep_alive) {
  deps_.metrics.count_http_error(e.status);
  if (e.status >= 500) {
    spdlog::warn("request refused status={} error={} detail={}", e.status, e.code, e.detail);
  } else {
    spdlog::info("request rejected status={} error={} detail={}", e.status, e.code, e.detail);
  }
  Response res{static_cast<http::status>(e.status), 11};
  res.set(http::field::content_type, "application/json");
  if (e.status == 503) res.set(http::field::retry_after, "5");
  if (e.status == 401) res.set(http::field::www_authenticate, "Bearer");
  if (!e.allow.empty()) res.set(http::field::allow, e.allow);
  res.body() = error_body(e);
  res.keep_alive(keep_alive);
  send(std::move(res));
}

void HttpSession::send(Response res, bool prepared) {
  if (!origin_.empty()) add_header_lines(res, deps_.cors.headers(origin_));
  if (!prepared) res.prepare_payload();
  response_ = std::make_shared<Response>(std::move(res));
  const bool close = !response_->keep_alive();
  stream_.expires_after(std::chrono::milliseconds(deps_.server.request_timeout_ms));
  http::async_write(stream_, *response_,
                    [self = shared_from_this(), close](error_code ec, std::size_t n) {
                      self->on_write(close, ec, n);
                    });
}

void HttpSession::on_write(bool close, error_code ec, std::size_t) {
  response_.reset();
  if (ec) return do_close();
  if (close) return do_close();
  do_read();
}

// Half-close, then read and discard what the client still sends (bounded in time)
// so that closing does not reset the connection before it has read our response.
void HttpSession::do_close() {
  if (!closing_) {
    closing_ = true;
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));  // one deadline for the whole linger
  }
  buffer_.clear();
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](error_code ec, std::size_t) {
                            if (ec) return self->stream_.close();
                            self->do_close();
                          });
}

}  // namespace ssehub
