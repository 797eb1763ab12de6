#pragma once
// Which topic channels the Redis subscriber connection is subscribed to, and
// which ones it should be. Pure; the subscriber thread sends what it answers.
//
// A topic is *active* (live delivery in effect, a stream may be told `ready`) only
// while it is wanted, the last command sent for it was SUBSCRIBE, and every
// command sent for it has been answered. So a topic whose UNSUBSCRIBE is in
// flight is not active even if a stream wants it again: it becomes active with
// the confirmation of the SUBSCRIBE sent after it. Changes are sent as the
// difference between wanted and requested, so a topic left and joined again
// before the subscriber thread looks sends nothing and stays active.
//
// Threads: none of its own; RedisBus guards it with its mutex.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace ssehub {

class SubscriptionTracker {
 public:
  struct Change {
    bool subscribe = true;
    std::string topic;
  };

  void want(const std::string& topic);
  void unwant(const std::string& topic);

  // The commands that bring the connection in line with what is wanted; they
  // count as sent.
  std::vector<Change> changes();
  // A SUBSCRIBE or UNSUBSCRIBE confirmation for the topic.
  void confirmed(const std::string& topic);

  // A new connection: every wanted topic is to be subscribed in one command, and
  // counts as sent. A lost one: nothing is active.
  std::vector<std::string> reconnect();
  void disconnected();

  bool active(const std::string& topic) const;
  bool wanted(const std::string& topic) const;
  std::size_t active_count() const;
  std::vector<std::string> active_topics() const;
  // Every topic the connection may hear messages on, active or not: wanted,
  // subscribed, or with a command in flight. A recovery from the store reads
  // these, because the events it settles are dropped from every channel.
  std::vector<std::string> known_topics() const;

 private:
  struct Entry {
    bool wanted = false;
    bool requested = false;  // the last command sent was SUBSCRIBE
    unsigned in_flight = 0;  // commands sent and not yet confirmed
  };
  void forget_if_idle(std::map<std::string, Entry>::iterator it);

  std::map<std::string, Entry> topics_;
};

}  // namespace ssehub
