#include "core/topic.hpp"

namespace ssehub {
namespace {

bool topic_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case ':':
    case '_':
    case '.':
    case '-':
    case '/':
    case '@':
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<std::string> topic_error(std::string_view topic) {
  if (topic.empty()) return "topic is empty";
  if (topic.size() > kMaxTopicBytes) {
    return "topic is longer than " + std::to_string(kMaxTopicBytes) + " bytes";
  }
  for (char c : topic) {
    if (!topic_char(c)) return "topic has a character outside [A-Za-z0-9:_.-/@]";
  }
  return std::nullopt;
}

bool topic_matches(std::string_view pattern, std::string_view topic) {
  if (!pattern.empty() && pattern.back() == '*') {
    auto prefix = pattern.substr(0, pattern.size() - 1);
    return topic.substr(0, prefix.size()) == prefix;
  }
  return pattern == topic;
}

}  // namespace ssehub
