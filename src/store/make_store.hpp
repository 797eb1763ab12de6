#pragma once
// Builds the event store that the configuration names (store.kind), so that the
// wiring does not include every backend.

#include <memory>

#include "core/config.hpp"
#include "store/event_store.hpp"

namespace ssehub {

std::unique_ptr<EventStore> make_store(const Config& config);

}  // namespace ssehub
