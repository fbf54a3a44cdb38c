// System accounts and their access tokens.

#include "api/identity/common.hpp"
#include "api/identity/handlers.hpp"
#include "api/identity/tokens.hpp"
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

const ListSpec& account_list_spec() {
  static const ListSpec spec{.filters = {{"name", FilterKind::string, {"eq", "contains"}, {}},
                                         {"description", FilterKind::string, {"eq", "contains"}, {}},
                                         {"konnect_managed", FilterKind::boolean, {"eq"}, {}}}};
  return spec;
}

std::vector<Field> account_fields(bool create) {
  return {Field{.name = "name", .kind = Kind::string, .required = create, .min_length = 1, .max_length = 250},
          Field{.name = "description", .kind = Kind::string, .required = create, .max_length = 250},
          Field{.name = "konnect_managed", .kind = create ? Kind::boolean : Kind::any, .read_only = !create},
          Field{.name = "id", .read_only = true},
          Field{.name = "created_at", .read_only = true},
          Field{.name = "updated_at", .read_only = true}};
}

const schema::ObjectSchema& create_account_schema() {
  static const schema::ObjectSchema s{account_fields(true), true};
  return s;
}
const schema::ObjectSchema& update_account_schema() {
  static const schema::ObjectSchema s{account_fields(false), true};
  return s;
}

const schema::ObjectSchema& create_token_schema() {
  static const schema::ObjectSchema s{
      {Field{.name = "name", .kind = Kind::string, .required = true, .min_length = 1, .max_length = 256},
       Field{.name = "expires_at", .kind = Kind::date_time, .required = true}, Field{.name = "id", .read_only = true},
       Field{.name = "token", .read_only = true}, Field{.name = "created_at", .read_only = true},
       Field{.name = "updated_at", .read_only = true}, Field{.name = "last_used_at", .read_only = true}},
      false};
  return s;
}

const schema::ObjectSchema& update_token_schema() {
  static const schema::ObjectSchema s{
      {Field{.name = "name", .kind = Kind::string, .required = true, .min_length = 1, .max_length = 256},
       Field{.name = "id", .read_only = true}, Field{.name = "expires_at", .read_only = true},
       Field{.name = "created_at", .read_only = true}, Field{.name = "updated_at", .read_only = true},
       Field{.name = "last_used_at", .read_only = true}},
      false};
  return s;
}

bj::object account_token_json(const store::AccessToken& t) {
  bj::object o{{"id", t.id},
               {"name", t.name},
               {"created_at", util::format_rfc3339_ms(t.created_at)},
               {"updated_at", util::format_rfc3339_ms(t.updated_at)},
               {"expires_at", util::format_rfc3339_ms(t.expires_at)}};
  if (t.last_used_at) o["last_used_at"] = util::format_rfc3339_ms(*t.last_used_at);
  return o;
}

// Managed accounts belong to Konnect's own integrations: readable, never changed by users.
void refuse_managed(const store::SystemAccount& a) {
  if (a.konnect_managed) {
    throw errors::ApiError::bad_request(
        errors::InvalidParameter{.field = "accountId",
                                 .rule = errors::Rule::invalid,
                                 .reason = "konnect-managed system accounts cannot be modified",
                                 .source = errors::Source::path},
        "Konnect-managed system accounts cannot be modified.");
  }
}

[[noreturn]] void account_name_conflict(const std::string& name) {
  throw errors::ApiError::conflict(fmt::format("System account with name [{}] already exists.", name));
}

store::AccessToken load_account_token(RequestContext& ctx, const store::SystemAccount& account) {
  auto token =
      ctx.store().get_token(ctx.org(), store::PrincipalKind::system_account, account.id, ctx.path_id("tokenId"));
  if (!token) throw errors::ApiError::not_found("The requested access token was not found.");
  return std::move(*token);
}

}  // namespace

http::Response list_accounts(RequestContext& ctx) {
  const auto q = parse_list_query(ctx.request().query, account_list_spec());
  store::SystemAccountQuery query;
  query.page = {q.page_size, q.page_number};
  for (const auto& f : q.filters) {
    if (f.field == "name") (f.op == "eq" ? query.name.eq : query.name.contains).push_back(f.values.front());
    if (f.field == "description") {
      (f.op == "eq" ? query.description.eq : query.description.contains).push_back(f.values.front());
    }
    if (f.field == "konnect_managed") query.konnect_managed = f.values.front() == "true";
  }
  if (!can(ctx, Verb::read)) {
    query.visible_ids = std::vector<std::string>{};
    if (!ctx.principal().is_user()) query.visible_ids->push_back(ctx.principal().id);
  }
  auto page = ctx.store().list_system_accounts(ctx.org(), query);
  bj::array data;
  for (const auto& a : page.items) data.push_back(account_json(a));
  return json_response(200, page_envelope(q, page.total, std::move(data)));
}

http::Response create_account(RequestContext& ctx) {
  require(ctx, Verb::create);
  auto body = ctx.validated_body(create_account_schema(), schema::Mode::create);
  if (auto* v = body.if_contains("konnect_managed"); v && v->as_bool()) {
    throw errors::ApiError::bad_request(
        errors::InvalidParameter{.field = "konnect_managed",
                                 .rule = errors::Rule::invalid,
                                 .reason = "only Konnect itself creates managed system accounts"},
        "Invalid request body.");
  }
  store::SystemAccount a;
  a.id = util::new_uuid();
  a.org_id = ctx.org().str();
  a.name = std::string(body.at("name").as_string());
  a.description = std::string(body.at("description").as_string());
  a.created_at = a.updated_at = util::now_ms();
  try {
    ctx.store().insert_system_account(a);
  } catch (const store::ConflictError&) {
    account_name_conflict(a.name);
  }
  return json_response(201, account_json(a));
}

http::Response get_account(RequestContext& ctx) {
  auto a = load_account(ctx);
  if (!is_caller(ctx, store::PrincipalKind::system_account, a.id)) require(ctx, Verb::read);
  return json_response(200, account_json(a));
}

http::Response update_account(RequestContext& ctx) {
  auto a = load_account(ctx);
  require(ctx, Verb::update);
  refuse_managed(a);
  auto body = ctx.validated_body(update_account_schema(), schema::Mode::update);
  std::optional<store::SystemAccount> updated;
  try {
    updated = ctx.store().modify_system_account(ctx.org(), a.id, [&](store::SystemAccount& current) {
      if (auto* v = body.if_contains("name")) current.name = std::string(v->as_string());
      if (auto* v = body.if_contains("description")) current.description = std::string(v->as_string());
      current.updated_at = util::now_ms();
    });
  } catch (const store::ConflictError&) {
    account_name_conflict(body.contains("name") ? std::string(body.at("name").as_string()) : a.name);
  }
  if (!updated) throw errors::ApiError::not_found("The requested system account was not found.");
  return json_response(200, account_json(*updated));
}

http::Response delete_account(RequestContext& ctx) {
  auto a = load_account(ctx);
  require(ctx, Verb::remove);
  refuse_managed(a);
  if (!ctx.store().delete_system_account(ctx.org(), a.id)) {
    throw errors::ApiError::not_found("The requested system account was not found.");
  }
  return empty_response(204);
}

http::Response list_account_tokens(RequestContext& ctx) {
  auto a = load_account(ctx);
  require(ctx, Verb::read);
  const auto q = parse_list_query(ctx.request().query, name_list_spec());
  store::TokenQuery query;
  query.page = {q.page_size, q.page_number};
  for (const auto& f : q.filters) (f.op == "eq" ? query.name.eq : query.name.contains).push_back(f.values.front());
  auto page = ctx.store().list_tokens(ctx.org(), store::PrincipalKind::system_account, a.id, query);
  bj::array data;
  for (const auto& t : page.items) data.push_back(account_token_json(t));
  return json_response(200, page_envelope(q, page.total, std::move(data)));
}

http::Response create_account_token(RequestContext& ctx) {
  auto a = load_account(ctx);
  require(ctx, Verb::update);
  auto body = ctx.validated_body(create_token_schema(), schema::Mode::create);
  const auto now = util::now_ms();
  std::int64_t expires_at = 0;
  util::parse_rfc3339(body.at("expires_at").as_string(), expires_at);
  check_expiry(expires_at, now, "expires_at");
  auto created = create_token(ctx, store::PrincipalKind::system_account, a.id, std::string(body.at("name").as_string()),
                              expires_at, now, 0);
  auto out = account_token_json(created.record);
  out["token"] = created.secret;
  return json_response(201, out);
}

http::Response get_account_token(RequestContext& ctx) {
  ctx.path_id("tokenId");  // every path id is checked before any lookup
  auto a = load_account(ctx);
  auto t = load_account_token(ctx, a);
  require(ctx, Verb::read);
  return json_response(200, account_token_json(t));
}

http::Response update_account_token(RequestContext& ctx) {
  ctx.path_id("tokenId");  // every path id is checked before any lookup
  auto a = load_account(ctx);
  auto t = load_account_token(ctx, a);
  require(ctx, Verb::update);
  auto body = ctx.validated_body(update_token_schema(), schema::Mode::create);
  return json_response(200, account_token_json(rename_token(ctx, store::PrincipalKind::system_account, a.id, t.id,
                                                            std::string(body.at("name").as_string()))));
}

http::Response delete_account_token(RequestContext& ctx) {
  ctx.path_id("tokenId");  // every path id is checked before any lookup
  auto a = load_account(ctx);
  auto t = load_account_token(ctx, a);
  require(ctx, Verb::remove);
  if (!ctx.store().delete_token(ctx.org(), store::PrincipalKind::system_account, a.id, t.id)) {
    throw errors::ApiError::not_found("The requested access token was not found.");
  }
  return empty_response(204);
}

}  // namespace ok::api::identity
