#include "store/make_store.hpp"

#include "store/memory/memory_store.hpp"
#include "store/postgres/postgres_store.hpp"

namespace ssehub {

std::unique_ptr<EventStore> make_store(const Config& config) {
  if (config.store.kind == "postgres") {
    return std::make_unique<PostgresStore>(config.store, config.replay);
  }
  return std::make_unique<MemoryStore>(config.store.memory_capacity);
}

}  // namespace ssehub
