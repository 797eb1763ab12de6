// Streams that end while their client reads nothing: the stall check lets them go
// and frees their slot, whatever ended them.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <csignal>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace ssehub::test {
namespace {

using json = nlohmann::json;
const std::string kSecret = "stream-end-secret-0123456789";

std::string dev_token(const std::vector<std::string>& args) {
  std::string out;
  EXPECT_EQ(run_binary(args, {{"SSEHUB_AUTH_JWT_SECRET", kSecret}}, out), 0) << out;
  return out.substr(0, out.find_first_of("\r\n"));
}

// A stream whose client never reads again, once its socket is full: a small
// receive buffer, and 12 MB of events on its topic (`auth` heads each publish).
void fill_socket(std::uint16_t port, SseStream& s, const std::string& topic,
                 const std::map<std::string, std::string>& auth = {}) {
  int small = 4096;
  setsockopt(s.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ASSERT_EQ(s.read_head(), 200);
  auto headers = auth;
  headers["Content-Type"] = "application/json";
  const std::string pad(60000, 'x');
  for (int i = 0; i < 200; ++i) {
    auto r = http(port, "POST", "/publish",
                  json{{"topic", topic}, {"type", "t"}, {"data", pad}}.dump(), headers);
    ASSERT_EQ(r.status, 201) << r.body;
  }
}

// Regression: a stream that ended with token-expired while its socket was full
// left the worker's list, so the stall check never saw it and it held its slot
// (and its socket) forever.
TEST(StreamEnd, ExpiredStreamWhoseSocketStaysFullIsLetGo) {
  Daemon d({{"SSEHUB_AUTH_MODE", "jwt"},
            {"SSEHUB_AUTH_JWT_SECRET", kSecret},
            {"SSEHUB_STREAM_HEARTBEAT_MS", "250"},
            {"SSEHUB_STREAM_MAX_CONNECTIONS_PER_SUBJECT", "1"},
            {"SSEHUB_STREAM_QUEUE_LIMIT_BYTES", "67108864"}});
  const std::string reader =
      dev_token({"token", "--sub", "slow", "--subscribe", "c:*", "--ttl", "2s"});
  const std::string publisher = dev_token({"token", "--sub", "pub", "--publish", "c:*"});
  SseStream s(d.port(), "/events?topic=c:x", {{"Authorization", "Bearer " + reader}});
  fill_socket(d.port(), s, "c:x", {{"Authorization", "Bearer " + publisher}});
  if (HasFatalFailure()) return;
  // The token expires at 2 s; its token-expired cannot be written. The stall
  // check (four heartbeats without progress) must still close the stream and
  // free the subject's one slot.
  const std::string again = dev_token({"token", "--sub", "slow", "--subscribe", "c:*"});
  EXPECT_TRUE(eventually(
      [&] {
        auto r = http(d.port(), "GET", "/events?topic=c:x", "",
                      {{"Authorization", "Bearer " + again}}, 300ms);
        return r.status == 200;
      },
      10000ms))
      << "the expired stream still holds the subject's slot";
  EXPECT_TRUE(d.running());
}

// Regression: the drain ends one stream after another from the end of the
// worker's list, and a stream whose socket stays full stays on it while it ends;
// every later tick ended that same stream again, so the streams behind it got no
// final `retry:` and were all cut together when the window ran out.
TEST(StreamEnd, ADrainGoesOnPastAStreamWhoseSocketStaysFull) {
  Daemon d({{"SSEHUB_SERVER_THREADS", "1"},
            {"SSEHUB_SERVER_DRAIN_TIMEOUT_MS", "2000"},
            {"SSEHUB_STREAM_QUEUE_LIMIT_BYTES", "67108864"}});
  auto readers = open_streams(d.port(), "/events?topic=r", 6);
  ASSERT_EQ(readers.size(), 6u);
  // Opened last, so the drain ends it first; it never reads.
  SseStream stuck(d.port(), "/events?topic=big");
  fill_socket(d.port(), stuck, "big");
  if (HasFatalFailure()) return;
  kill(d.pid(), SIGTERM);
  for (auto& s : readers) {
    EXPECT_TRUE(s->wait_closed(4000ms));
    EXPECT_EQ(s->retries().size(), 2u) << "a reader was cut without its final retry:";
  }
  EXPECT_EQ(d.stop(0, 5000ms), 0);
}

// Regression: the stall check counted time the daemon itself was stopped. A
// replica paused (SIGSTOP) while a stream's socket was full closed that stream
// as a stalled reader the moment it ran again, though its client read on.
TEST(StreamEnd, AStreamWhoseSocketIsFullWhenTheDaemonPausesOutlivesThePause) {
  Daemon d({{"SSEHUB_STREAM_HEARTBEAT_MS", "1500"},
            {"SSEHUB_SERVER_MAX_BODY_BYTES", "16777216"},
            {"SSEHUB_STREAM_QUEUE_LIMIT_BYTES", "67108864"}});
  SseStream s(d.port(), "/events?topic=p");
  ASSERT_EQ(s.read_head(), 200);
  // 7.2 MB in one publish, more than both socket buffers hold while the client
  // does not read: the socket is full, and the daemon is paused soon after, well
  // within the stall limit (6 s) even under a sanitizer.
  json batch = json::array();
  for (int i = 0; i < 120; ++i)
    batch.push_back({{"topic", "p"}, {"type", "t"}, {"data", std::string(60000, 'x')}});
  auto r = http(d.port(), "POST", "/publish", batch.dump(), {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 201) << r.body;
  // Paused for longer than the stall limit, of which two heartbeat intervals
  // (3 s) count; the client reads again once the daemon runs.
  ASSERT_EQ(kill(d.pid(), SIGSTOP), 0);
  std::this_thread::sleep_for(8000ms);
  ASSERT_EQ(kill(d.pid(), SIGCONT), 0);
  int received = 0;
  while (received < 120) {
    auto e = s.next(5000ms);
    if (!e) break;
    if (e->type == "t") ++received;
  }
  EXPECT_EQ(received, 120) << "the stream ended after " << received << " events; log:\n" << d.log();
  EXPECT_FALSE(s.closed());
  EXPECT_TRUE(d.running());
}

}  // namespace
}  // namespace ssehub::test
