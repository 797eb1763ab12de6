#pragma once
// spdlog set-up: text or JSON lines on stderr.

#include "core/config.hpp"

namespace ssehub {

void setup_logging(const LogConfig& config);

}  // namespace ssehub
