#pragma once
// What replicas say to each other through Redis, and where. Pure.
//
// Channels: `<prefix>:topic:<topic>` carries the events of one topic (a replica
// subscribes only to the topics it serves); `<prefix>:heads` carries one notice
// per published batch, `{"base":B,"head":H}`, published after the batch's events,
// so a subscriber that receives it knows the batch is complete, and one that sees
// `base` above the last complete head it knows has missed a batch in whole or in
// part and recovers it from the store; `<prefix>:sentinel:<replica>` carries
// a replica's health probes to itself.
//
// An event message is JSON: {"id":"<epoch>-<seq>","seq":N,"topic":"...",
// "type":"...","data":<the event's JSON value>}.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/event.hpp"

namespace ssehub::redis {

struct Endpoint {
  std::string host;
  std::uint16_t port = 6379;
  std::string username;  // an ACL user (Redis 6+); empty: the default user
  std::string password;
  int db = 0;
};

// redis://[user[:password]@]host[:port][/db], user and password percent-decoded
// (RFC 3986: "%40" is '@'). The error names what is wrong and never contains the
// password.
std::variant<Endpoint, std::string> parse_url(std::string_view url);

// The AUTH the endpoint needs once connected: `AUTH user password` with a user
// (an empty password suits a `nopass` user), `AUTH password` with a password
// alone, nullopt with neither.
std::optional<std::vector<std::string>> auth_command(const Endpoint& e);

std::string topic_channel(std::string_view prefix, std::string_view topic);
std::string heads_channel(std::string_view prefix);
std::string sentinel_channel(std::string_view prefix, std::string_view replica);
// The topic of a topic channel, or nullopt for any other channel.
std::optional<std::string> channel_topic(std::string_view prefix, std::string_view channel);

std::string encode_event(const Event& ev);
// nullopt with `error` set when the message is not a valid event message.
std::optional<Event> decode_event(std::string_view message, std::string& error);

struct HeadsNotice {
  std::uint64_t base = 0;  // the head before the batch
  std::uint64_t head = 0;  // the batch's last seq
};
std::string encode_heads(const HeadsNotice& h);
std::optional<HeadsNotice> decode_heads(std::string_view message);

}  // namespace ssehub::redis
