// Request targets, /events parameters and token extraction from arbitrary bytes.
#include <cstdint>
#include <string_view>

#include "http/request_parsing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto split = in.find('\n');
  std::string_view target = in.substr(0, split);
  std::string_view rest =
      split == std::string_view::npos ? std::string_view{} : in.substr(split + 1);
  auto parsed = ssehub::parse_target(target);
  if (auto* t = std::get_if<ssehub::Target>(&parsed)) {
    auto req = ssehub::parse_events_request(*t, rest, 16);
    if (auto* r = std::get_if<ssehub::EventsRequest>(&req)) {
      if (r->topics.empty() || r->topics.size() > 16) __builtin_trap();
    }
    (void)ssehub::extract_token(rest, *t, rest);
  }
  return 0;
}
