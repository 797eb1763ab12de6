#pragma once
// SSE wire framing (WHATWG HTML, "server-sent events"). Pure: bytes in, bytes out.

#include <cstdint>
#include <string>
#include <string_view>

namespace ssehub {

// `id:` is omitted when `id` is empty. Multi-line data (LF, CR or CRLF) becomes one
// `data:` line per line, so the client reassembles it with '\n'. CR and LF are
// removed from `id`, `type` and `topic`, which must not carry them. A non-empty
// `topic` is sent as a `topic:` field, which the WHATWG rules tell EventSource to
// ignore; ssehub's own client reads it to route one stream's events to the
// subscribers of each topic.
std::string encode_event(std::string_view id, std::string_view type, std::string_view data,
                         std::string_view topic = {});

std::string encode_retry(std::uint64_t ms);

std::string encode_comment(std::string_view text);

}  // namespace ssehub
