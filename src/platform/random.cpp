#include "platform/random.hpp"

#include <random>

namespace ssehub {
namespace {

std::mt19937_64& generator() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

}  // namespace

std::string random_token(std::size_t length) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::uniform_int_distribution<int> pick(0, sizeof(kAlphabet) - 2);
  std::string out(length, 'a');
  for (auto& c : out) c = kAlphabet[pick(generator())];
  return out;
}

double random_unit() {
  return std::uniform_real_distribution<double>(0, 1)(generator());
}

std::uint64_t random_between(std::uint64_t lo, std::uint64_t hi) {
  return std::uniform_int_distribution<std::uint64_t>(lo, hi)(generator());
}

}  // namespace ssehub
