// Event ids and Last-Event-ID: whatever parses must print back to the same text.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/event_id.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto id = ssehub::parse_event_id(in)) {
    if (id->str() != in) __builtin_trap();
  }
  auto half = in.substr(0, size / 2);
  auto r = ssehub::resolve_last_event_id(half, in.substr(size / 2));
  if (r.raw.size() > ssehub::LastEventId::kMaxEchoedChars) __builtin_trap();
  for (char c : r.raw) {
    if (static_cast<unsigned char>(c) < 0x20) __builtin_trap();
  }
  return 0;
}
