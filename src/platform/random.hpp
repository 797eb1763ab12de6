#pragma once
// The one source of randomness outside tests: a per-thread generator seeded from
// the system, for ids that only need to be unlikely to collide (epochs, stream
// ids) and for jitter. Nothing here is for secrets.

#include <cstddef>
#include <cstdint>
#include <string>

namespace ssehub {

// `length` characters of [a-z0-9].
std::string random_token(std::size_t length);
// Uniform in [0, 1).
double random_unit();
// Uniform in [lo, hi].
std::uint64_t random_between(std::uint64_t lo, std::uint64_t hi);

}  // namespace ssehub
