#pragma once
// SSE wire framing (WHATWG HTML, "server-sent events"). Pure: bytes in, bytes out.

#include <cstdint>
#include <string>
#include <string_view>

namespace ssehub {

// `id:` is omitted when `id` is empty. Multi-line data (LF, CR or CRLF) becomes one
// `data:` line per line, so the client reassembles it with '\n'. CR and LF are
// removed from `id` and `type`, which must not carry them.
std::string encode_event(std::string_view id, std::string_view type, std::string_view data);

std::string encode_retry(std::uint64_t ms);

std::string encode_comment(std::string_view text);

}  // namespace ssehub
