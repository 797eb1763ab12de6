// Redis bus messages and URLs: whatever decodes as an event must encode and decode
// back to the same event, with a valid topic and an id that agrees with its seq;
// heads notices never go backwards. Nothing may crash.
#include <cstdint>
#include <string>
#include <string_view>

#include "bus/redis/redis_protocol.hpp"
#include "core/event_id.hpp"
#include "core/topic.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string error;
  if (auto ev = ssehub::redis::decode_event(in, error)) {
    if (ssehub::topic_error(ev->topic)) __builtin_trap();
    auto id = ssehub::parse_event_id(ev->id);
    if (!id || id->seq != ev->seq) __builtin_trap();
    std::string again_error;
    auto again = ssehub::redis::decode_event(ssehub::redis::encode_event(*ev), again_error);
    if (!again || again->id != ev->id || again->topic != ev->topic || again->type != ev->type ||
        again->data != ev->data) {
      __builtin_trap();
    }
  } else if (error.empty()) {
    __builtin_trap();
  }
  if (auto h = ssehub::redis::decode_heads(in)) {
    if (h->head < h->base) __builtin_trap();
  }
  (void)ssehub::redis::parse_url(in);
  (void)ssehub::redis::channel_topic("ssehub", in);
  return 0;
}
