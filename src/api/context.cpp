#include "api/context.hpp"

#include "errors/api_error.hpp"
#include "json/parse.hpp"
#include "schema/validator.hpp"

#include <fmt/format.h>

#include <cctype>

namespace ok::api {
namespace {

bool is_json_media_type(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  auto media = content_type.substr(0, semicolon);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  std::string lower;
  for (char c : media) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return lower == "application/json" || (lower.starts_with("application/") && lower.ends_with("+json"));
}

}  // namespace

const std::string& RequestContext::path_param(std::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) return value;
  }
  static const std::string empty;
  return empty;
}

const std::string& RequestContext::path_id(std::string_view name) const {
  const auto& value = path_param(name);
  if (!schema::is_uuid(value)) {
    throw errors::ApiError::bad_request(errors::invalid_path_id(std::string(name)),
                                        "Request contains invalid ID format.");
  }
  return value;
}

boost::json::value RequestContext::json_body() const {
  const auto content_type = request_.header("content-type");
  if (!request_.body.empty() && (!content_type || !is_json_media_type(*content_type))) {
    throw errors::ApiError::unsupported_media_type();
  }
  return json::parse_body(request_.body, services_.settings.max_json_depth);
}

boost::json::object RequestContext::validated_body(const schema::ObjectSchema& schema, schema::Mode mode) const {
  auto body = json_body();
  auto problems = schema::validate(body, schema, mode);
  if (!problems.empty()) throw errors::ApiError::bad_request(std::move(problems), "Invalid request body.");
  return std::move(body.as_object());
}

void RequestContext::spend(const ratelimit::Policy& policy, const std::string& key) {
  if (!policy.enabled()) return;
  const auto d = services_.limiter.check(policy.name + ":" + key, policy, ratelimit::Clock::now(), ratelimit::Mode::consume);
  rate_.emplace_back(&policy, d);
  if (!d.allowed) throw errors::ApiError::too_many_requests(d.retry_after_seconds);
}

const std::vector<store::RoleAssignment>& RequestContext::roles() {
  if (!roles_) roles_ = services_.authenticator.roles(principal());
  return *roles_;
}

void RequestContext::authorize(const auth::Action& action) {
  const auto decision = auth::decide(roles(), action);
  if (!decision.allowed) {
    throw errors::ApiError::forbidden(fmt::format("Insufficient permissions: role [{}] on [{}] is required.",
                                                  decision.required_role, action.entity_type));
  }
}

}  // namespace ok::api
