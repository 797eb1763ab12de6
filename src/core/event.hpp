#pragma once
// Events as they move through ssehub.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ssehub {

// An event accepted for publishing, before the store gives it an id.
struct NewEvent {
  std::string topic;
  std::string type;
  std::string data;  // compact JSON text
};

// A stored event with its id `<epoch>-<seq>`.
struct Event {
  std::string id;
  std::uint64_t seq = 0;
  std::string topic;
  std::string type;
  std::string data;
};

using EventBatch = std::vector<Event>;
using EventBatchPtr = std::shared_ptr<const EventBatch>;

}  // namespace ssehub
