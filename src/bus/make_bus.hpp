#pragma once
// Builds the event bus that the configuration names: in-process with the memory
// store, and with Postgres either the log follower (bus.kind pglog) or Redis.

#include <memory>
#include <string>

#include "bus/event_bus.hpp"
#include "core/config.hpp"

namespace ssehub {

// `replica` names this replica on the bus (its sentinel channel).
std::unique_ptr<EventBus> make_bus(const Config& config, const std::string& replica);

}  // namespace ssehub
