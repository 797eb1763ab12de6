// SSE framing: no input may end a frame early or inject a field. A frame ends
// with exactly one blank line and every line is a known field.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/sse_frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::size_t a = size > 0 ? data[0] % (size + 1) : 0;
  std::size_t b = size > 1 ? data[1] % (size + 1) : 0;
  if (a > b) std::swap(a, b);
  auto frame = ssehub::encode_event(in.substr(0, a), in.substr(a, b - a), in.substr(b));
  if (frame.size() < 2 || frame.substr(frame.size() - 2) != "\n\n") __builtin_trap();
  std::string_view body(frame.data(), frame.size() - 1);
  std::size_t start = 0;
  while (start < body.size()) {
    auto end = body.find('\n', start);
    std::string_view line = body.substr(start, end - start);
    if (line.empty()) __builtin_trap();  // a blank line before the end dispatches early
    if (line.find('\r') != std::string_view::npos) __builtin_trap();
    if (line.rfind("id: ", 0) != 0 && line.rfind("event: ", 0) != 0 &&
        line.rfind("data: ", 0) != 0) {
      __builtin_trap();
    }
    start = end + 1;
  }
  return 0;
}
