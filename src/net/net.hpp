#pragma once
// Asio/Beast names used across ssehub. Asio and Beast are compiled once in
// net/asio_impl.cpp (separate compilation).

#include <utility>  // before Asio: GCC 12 + Boost 1.74 awaitable.hpp

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

namespace ssehub {
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
}  // namespace ssehub
