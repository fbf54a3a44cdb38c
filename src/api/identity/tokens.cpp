// Personal access tokens: /v3/users/{userId}/access-tokens.

#include "api/identity/tokens.hpp"

#include "api/identity/common.hpp"
#include "api/identity/handlers.hpp"
#include "api/responses.hpp"
#include "auth/token.hpp"
#include "errors/api_error.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>

namespace ok::api::identity {
namespace {

namespace bj = boost::json;
using auth::Verb;
using schema::Field;
using schema::Kind;

// Decodes one UTF-8 code point at `i` (advancing it); invalid bytes decode as U+FFFD.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i++]);
  if (b0 < 0x80) return b0;
  int extra = (b0 & 0xE0) == 0xC0 ? 1 : (b0 & 0xF0) == 0xE0 ? 2 : (b0 & 0xF8) == 0xF0 ? 3 : -1;
  if (extra < 0) return 0xFFFD;
  char32_t cp = b0 & (0x3F >> extra);
  while (extra-- > 0) {
    if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
  }
  return cp;
}

bool is_letter_or_digit(char32_t cp) {
  if (cp < 0x80) return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  if (cp == 0xFFFD || cp < 0xC0 || cp == 0xD7 || cp == 0xF7) return false;
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;  // punctuation, symbols, arrows, shapes
  if (cp >= 0x3000 && cp <= 0x303F) return false;  // CJK punctuation
  if (cp >= 0xFE30 && cp <= 0xFE4F) return false;
  if (cp >= 0xFF00 && cp <= 0xFF0F) return false;
  return true;
}

const schema::ObjectSchema& create_pat_schema() {
  static const schema::ObjectSchema s{{Field{.name = "name",
                                             .kind = Kind::string,
                                             .required = true,
                                             .min_length = 1,
                                             .max_length = 256,
                                             .check = pat_name_problem},
                                       Field{.name = "ttl_seconds",
                                             .kind = Kind::integer,
                                             .minimum = kMinTokenTtlSeconds,
                                             .maximum = kMaxTokenTtlSeconds},
                                       Field{.name = "expires_at", .kind = Kind::date_time}},
                                      false};
  return s;
}

const schema::ObjectSchema& update_pat_schema() {
  static const schema::ObjectSchema s{{Field{.name = "name",
                                             .kind = Kind::string,
                                             .required = true,
                                             .min_length = 1,
                                             .max_length = 256,
                                             .check = pat_name_problem}},
                                      false};
  return s;
}

std::string state_of(const store::AccessToken& t, std::int64_t now) {
  if (t.revoked_at) return "REVOKED";
  if (t.expires_at != 0 && t.expires_at <= now) return "EXPIRED";
  return "ACTIVE";
}

bj::object pat_json(const store::AccessToken& t) {
  const auto ts = [](std::optional<std::int64_t> v) -> bj::value {
    return v ? bj::value(util::format_rfc3339_ms(*v)) : bj::value(nullptr);
  };
  return {{"id", t.id},
          {"user_id", t.owner_id},
          {"name", t.name},
          {"state", state_of(t, util::now_ms())},
          {"revoked_by", t.revoked_by.empty() ? bj::value(nullptr) : bj::value(t.revoked_by)},
          {"created_at", util::format_rfc3339_ms(t.created_at)},
          {"updated_at", util::format_rfc3339_ms(t.updated_at)},
          {"last_used_at", ts(t.last_used_at)},
          {"expires_at", ts(t.expires_at == 0 ? std::nullopt : std::optional<std::int64_t>(t.expires_at))},
          {"revoked_at", ts(t.revoked_at)}};
}

// PAT endpoints accept personal access tokens only; a user manages their own tokens, and
// an identity admin those of every user of the organization (self-hosted extension).
void authorize_token_owner(RequestContext& ctx, const store::User& user, Verb verb) {
  if (!ctx.principal().is_user()) {
    throw errors::ApiError::forbidden("System account tokens cannot manage personal access tokens.");
  }
  if (!is_caller(ctx, store::PrincipalKind::user, user.id)) require(ctx, verb);
}

store::User load_token_owner(RequestContext& ctx, Verb verb) {
  auto user = load_user(ctx);
  authorize_token_owner(ctx, user, verb);
  return user;
}

// The user and token of a PAT path: 404 for either before any permission check, as the
// contract orders them.
std::pair<store::User, store::AccessToken> load_pat(RequestContext& ctx, Verb verb) {
  auto user = load_user(ctx);
  auto t = ctx.store().get_token(ctx.org(), store::PrincipalKind::user, user.id, ctx.path_id("tokenId"));
  if (!t) throw errors::ApiError::not_found("The requested access token was not found.");
  authorize_token_owner(ctx, user, verb);
  return {std::move(user), std::move(*t)};
}

}  // namespace

void token_name_conflict(const std::string& name) {
  throw errors::ApiError::conflict(fmt::format("Access token with name [{}] already exists.", name));
}

NewToken create_token(RequestContext& ctx, store::PrincipalKind owner_kind, const std::string& owner_id,
                      std::string name, std::int64_t expires_at_ms, std::int64_t now_ms, std::size_t max_per_owner) {
  NewToken created;
  created.secret = auth::generate_token(owner_kind == store::PrincipalKind::user ? auth::TokenKind::personal
                                                                                 : auth::TokenKind::system_account);
  auto& t = created.record;
  t.id = util::new_uuid();
  t.org_id = ctx.org().str();
  t.owner_kind = owner_kind;
  t.owner_id = owner_id;
  t.name = std::move(name);
  t.token_hash = auth::hash_token(created.secret);
  t.expires_at = expires_at_ms;
  t.created_at = t.updated_at = now_ms;
  try {
    ctx.store().insert_token(t, max_per_owner);
  } catch (const store::ConflictError&) {
    token_name_conflict(t.name);
  }
  return created;
}

store::AccessToken rename_token(RequestContext& ctx, store::PrincipalKind owner_kind, const std::string& owner_id,
                                const std::string& token_id, const std::string& name) {
  std::optional<store::AccessToken> updated;
  try {
    updated = ctx.store().modify_token(ctx.org(), owner_kind, owner_id, token_id, [&](store::AccessToken& current) {
      current.name = name;
      current.updated_at = util::now_ms();
    });
  } catch (const store::ConflictError&) {
    token_name_conflict(name);
  }
  if (!updated) throw errors::ApiError::not_found("The requested access token was not found.");
  return std::move(*updated);
}

void check_expiry(std::int64_t expires_at_ms, std::int64_t now_ms, std::string_view field) {
  if (expires_at_ms <= now_ms) {
    throw errors::ApiError::bad_request(
        errors::InvalidParameter{
            .field = std::string(field), .rule = errors::Rule::invalid, .reason = "must be in the future"},
        "Invalid request body.");
  }
  if (expires_at_ms - now_ms > kMaxTokenTtlSeconds * 1000) {
    throw errors::ApiError::bad_request(errors::InvalidParameter{.field = std::string(field),
                                                                 .rule = errors::Rule::invalid,
                                                                 .reason = "must be at most 365 days in the future"},
                                        "Invalid request body.");
  }
}

std::string pat_name_problem(std::string_view name) {
  std::vector<char32_t> cps;
  for (std::size_t i = 0; i < name.size();) cps.push_back(next_code_point(name, i));
  if (cps.size() < 2) return "must have at least 2 characters, starting and ending with a letter or digit";
  for (std::size_t i = 0; i < cps.size(); ++i) {
    const bool edge = i == 0 || i + 1 == cps.size();
    const char32_t c = cps[i];
    const bool inner_ok = c == ' ' || c == '_' || c == '-' || c == '.' || c == '\'';
    if (!is_letter_or_digit(c) && (edge || !inner_ok)) {
      return "must start and end with a letter or digit and contain only letters, digits, spaces and _ - . '";
    }
  }
  return {};
}

http::Response list_user_tokens(RequestContext& ctx) {
  auto user = load_token_owner(ctx, Verb::read);
  store::TokenQuery query;
  query.page = {1000, 1};  // at most 10 exist; the spec's list has no paging parameters
  auto page = ctx.store().list_tokens(ctx.org(), store::PrincipalKind::user, user.id, query);
  bj::array data;
  for (const auto& t : page.items) data.push_back(pat_json(t));
  const auto count = static_cast<std::int64_t>(page.items.size());
  return json_response(200, bj::object{{"meta", bj::object{{"number", 1}, {"size", count}, {"total", page.total}}},
                                       {"data", std::move(data)}});
}

http::Response create_user_token(RequestContext& ctx) {
  auto user = load_token_owner(ctx, Verb::update);
  auto body = ctx.validated_body(create_pat_schema(), schema::Mode::create);
  const auto now = util::now_ms();
  const auto* ttl = body.if_contains("ttl_seconds");
  const auto* expires = body.if_contains("expires_at");
  std::int64_t expires_at = 0;
  if (ttl && expires) {
    errors::InvalidParameter p{.field = "ttl_seconds",
                               .rule = errors::Rule::dependent_fields,
                               .reason = "send either ttl_seconds or expires_at, not both"};
    p.dependents = {"expires_at"};
    throw errors::ApiError::bad_request(std::move(p), "Invalid request body.");
  }
  if (ttl) {
    expires_at = now + ttl->to_number<std::int64_t>() * 1000;
  } else if (expires) {
    util::parse_rfc3339(expires->as_string(), expires_at);
    check_expiry(expires_at, now, "expires_at");
  } else {
    throw errors::ApiError::bad_request(
        errors::InvalidParameter{
            .field = "ttl_seconds", .rule = errors::Rule::required, .reason = "is required (or expires_at)"},
        "Invalid request body.");
  }
  NewToken created;
  try {
    created = create_token(ctx, store::PrincipalKind::user, user.id, std::string(body.at("name").as_string()),
                           expires_at, now, kMaxPersonalTokensPerUser);
  } catch (const store::InvariantError&) {
    throw errors::ApiError::bad_request(
        errors::InvalidParameter{.field = "object", .rule = errors::Rule::invalid, .reason = "usage limits reached"},
        fmt::format("A user can have at most [{}] personal access tokens.", kMaxPersonalTokensPerUser));
  }
  auto out = pat_json(created.record);
  out["konnect_token"] = created.secret;
  return json_response(201, out);
}

http::Response get_user_token(RequestContext& ctx) {
  ctx.path_id("tokenId");
  auto [user, t] = load_pat(ctx, Verb::read);
  return json_response(200, pat_json(t));
}

http::Response update_user_token(RequestContext& ctx) {
  ctx.path_id("tokenId");
  auto [user, t] = load_pat(ctx, Verb::update);
  auto body = ctx.validated_body(update_pat_schema(), schema::Mode::create);
  return json_response(200, pat_json(rename_token(ctx, store::PrincipalKind::user, user.id, t.id,
                                                  std::string(body.at("name").as_string()))));
}

http::Response delete_user_token(RequestContext& ctx) {
  ctx.path_id("tokenId");
  auto [user, t] = load_pat(ctx, Verb::update);
  if (!ctx.store().delete_token(ctx.org(), store::PrincipalKind::user, user.id, t.id)) {
    throw errors::ApiError::not_found("The requested access token was not found.");
  }
  return empty_response(204);
}

http::Response revoke_user_token(RequestContext& ctx) {
  ctx.path_id("tokenId");
  auto [user, t] = load_pat(ctx, Verb::update);
  const std::string revoker = ctx.principal().id;
  auto revoked =
      ctx.store().modify_token(ctx.org(), store::PrincipalKind::user, user.id, t.id, [&](store::AccessToken& current) {
        if (current.revoked_at) return;  // revoking twice changes nothing
        const auto now = util::now_ms();
        current.revoked_at = now;
        current.revoked_by = revoker;
        current.updated_at = now;
      });
  if (!revoked) throw errors::ApiError::not_found("The requested access token was not found.");
  return json_response(200, pat_json(*revoked));
}

}  // namespace ok::api::identity
