#include "core/sse_frame.hpp"

namespace ssehub {
namespace {

void append_single_line(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c != '\r' && c != '\n' && c != '\0') out.push_back(c);
  }
}

void append_data_lines(std::string& out, std::string_view data) {
  std::size_t start = 0;
  while (true) {
    std::size_t end = data.find_first_of("\r\n", start);
    out.append("data: ");
    if (end == std::string_view::npos) {
      out.append(data.substr(start));
      out.push_back('\n');
      return;
    }
    out.append(data.substr(start, end - start));
    out.push_back('\n');
    start = end + ((data[end] == '\r' && end + 1 < data.size() && data[end + 1] == '\n') ? 2 : 1);
  }
}

}  // namespace

std::string encode_event(std::string_view id, std::string_view type, std::string_view data,
                         std::string_view topic) {
  std::string out;
  out.reserve(id.size() + type.size() + topic.size() + data.size() + 32);
  if (!id.empty()) {
    out.append("id: ");
    append_single_line(out, id);
    out.push_back('\n');
  }
  if (!type.empty()) {
    out.append("event: ");
    append_single_line(out, type);
    out.push_back('\n');
  }
  if (!topic.empty()) {
    out.append("topic: ");
    append_single_line(out, topic);
    out.push_back('\n');
  }
  append_data_lines(out, data);
  out.push_back('\n');
  return out;
}

std::string encode_retry(std::uint64_t ms) {
  return "retry: " + std::to_string(ms) + "\n\n";
}

std::string encode_comment(std::string_view text) {
  std::string out = ": ";
  append_single_line(out, text);
  out.append("\n\n");
  return out;
}

}  // namespace ssehub
