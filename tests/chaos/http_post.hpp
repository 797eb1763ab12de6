#pragma once
// A POST /publish whose every step shares one deadline. The fixtures' http() sends
// with a blocking send(), which a stopped replica can hold for as long as it stays
// stopped once a large body fills the socket buffers.

#include <chrono>
#include <cstdint>
#include <string>

namespace ssehub::chaos {

struct PostResult {
  int status = 0;     // 0: no complete response
  std::string body;   // the response body
  std::string error;  // why there is no response: "connect refused", "timed out", ...
};

PostResult post_json(std::uint16_t port, const std::string& target, const std::string& body,
                     std::chrono::milliseconds timeout);

}  // namespace ssehub::chaos
