#pragma once
// Topic names and topic patterns. Pure.

#include <optional>
#include <string>
#include <string_view>

namespace ssehub {

inline constexpr std::size_t kMaxTopicBytes = 200;

// nullopt when `topic` is valid: 1-200 bytes of [A-Za-z0-9:_.-/@]; else the reason.
std::optional<std::string> topic_error(std::string_view topic);

// A pattern is exact, or ends in '*' and matches every topic with that prefix.
bool topic_matches(std::string_view pattern, std::string_view topic);

}  // namespace ssehub
