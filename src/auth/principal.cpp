#include "auth/principal.hpp"

#include <algorithm>

#include "core/topic.hpp"
#include "platform/clock.hpp"

namespace ssehub {
namespace {

std::optional<std::string> first_denied(const std::vector<std::string>& patterns,
                                        const std::vector<std::string>& topics) {
  for (const auto& t : topics) {
    bool ok = std::any_of(patterns.begin(), patterns.end(),
                          [&](const std::string& p) { return topic_matches(p, t); });
    if (!ok) return t;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> Principal::denied_subscribe(const std::vector<std::string>& t) const {
  if (anonymous) return std::nullopt;
  return first_denied(subscribe, t);
}

std::optional<std::string> Principal::denied_publish(const std::vector<std::string>& t) const {
  if (anonymous) return std::nullopt;
  return first_denied(publish, t);
}

std::variant<Principal, ApiError> Authenticator::authenticate(
    const std::optional<std::string>& token) const {
  if (!verifier_) return Principal{};
  if (!token) return ApiError{401, "unauthorized", "a bearer token is required", {}};
  auto result = verifier_->verify(*token, unix_seconds());
  if (auto* f = std::get_if<JwtFailure>(&result)) {
    return ApiError{401, "unauthorized", "invalid token: " + f->reason, {}};
  }
  auto& claims = std::get<JwtClaims>(result);
  Principal p;
  p.anonymous = false;
  p.subject = std::move(claims.sub);
  p.expires_at = claims.exp;
  p.subscribe = std::move(claims.subscribe);
  p.publish = std::move(claims.publish);
  return p;
}

}  // namespace ssehub
