#pragma once
// `ssehub token`: development tokens for quickstarts and tests.

#include <string>
#include <vector>

#include "core/config.hpp"

namespace ssehub {

// Prints an HS256 token to stdout, or a message naming the problem to stderr
// (returns false) when the secret is missing or the lifetime malformed.
bool print_dev_token(const AuthConfig& auth, const std::string& sub,
                     const std::vector<std::string>& subscribe,
                     const std::vector<std::string>& publish, const std::string& ttl);

}  // namespace ssehub
