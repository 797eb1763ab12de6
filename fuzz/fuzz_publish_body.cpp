// /publish bodies: parse or a clear error; accepted events are always valid.
#include <cstdint>
#include <string_view>

#include "core/topic.hpp"
#include "http/request_parsing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = ssehub::parse_publish_body(in);
  if (auto* events = std::get_if<std::vector<ssehub::NewEvent>>(&r)) {
    if (events->empty() || events->size() > ssehub::kMaxPublishBatch) __builtin_trap();
    for (auto& e : *events) {
      if (ssehub::topic_error(e.topic)) __builtin_trap();
      if (e.type.empty() || e.type.find_first_of("\r\n") != std::string::npos) __builtin_trap();
      if (e.data.find('\n') != std::string::npos) __builtin_trap();  // one data: line
    }
  } else if (std::get<ssehub::ApiError>(r).status < 400) {
    __builtin_trap();
  }
  return 0;
}
