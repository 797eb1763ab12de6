#pragma once
// The phases of one event stream, and which may follow which. Pure.
//
//   subscribing: live delivery is being set up; nothing is sent yet and live
//                events are held. Then replaying (the request has a
//                Last-Event-ID) or live, or closed.
//   replaying:   the response head and `ready` are queued, the replay runs and
//                live events are held. Then live, ending or closed.
//   live:        live events are delivered. Then ending or closed.
//   ending:      no more live events; what is queued is written, then the
//                stream closes. Then closed only.
//   closed:      final.
//
// A stream that ends before its response head was queued closes at once.

#include <string_view>

namespace ssehub {

enum class StreamState { subscribing, replaying, live, ending, closed };

// Whether a stream in `from` may move to `to`.
bool allowed(StreamState from, StreamState to);

// Ending or closed: the stream takes no new live event, control frame or gap.
inline bool ending_or_closed(StreamState s) {
  return s == StreamState::ending || s == StreamState::closed;
}

std::string_view to_string(StreamState s);

}  // namespace ssehub
