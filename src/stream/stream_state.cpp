#include "stream/stream_state.hpp"

namespace ssehub {

bool allowed(StreamState from, StreamState to) {
  using S = StreamState;
  switch (from) {
    case S::subscribing:
      return to == S::replaying || to == S::live || to == S::closed;
    case S::replaying:
      return to == S::live || to == S::ending || to == S::closed;
    case S::live:
      return to == S::ending || to == S::closed;
    case S::ending:
      return to == S::closed;
    case S::closed:
      return false;
  }
  return false;
}

std::string_view to_string(StreamState s) {
  switch (s) {
    case StreamState::subscribing:
      return "subscribing";
    case StreamState::replaying:
      return "replaying";
    case StreamState::live:
      return "live";
    case StreamState::ending:
      return "ending";
    case StreamState::closed:
      return "closed";
  }
  return "?";
}

}  // namespace ssehub
