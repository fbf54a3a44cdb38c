// libFuzzer target: the token parser and the authenticator.
//
// Input: an Authorization header value; "$VALID" in it becomes the valid token of the one
// organization in a temporary SQLite store (so the seeds reach the lookup, the cache and the
// last-used bookkeeping).
//
// Invariants (abort on violation): auth::bearer_token returns a part of its input;
// auth::token_kind accepts only our prefixes at their exact lengths; auth::hash_token is
// 64 lower-case hex digits and deterministic; Authenticator::authenticate either returns the
// organization's principal (only for the valid token) or throws errors::ApiError 401.

#include "fuzz_env.hpp"

#include "auth/authenticator.hpp"
#include "auth/token.hpp"
#include "util/ids.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace {

using namespace ok;

struct Env {
  std::unique_ptr<store::Store> store;
  auth::Generations generations;
  std::unique_ptr<auth::Authenticator> authenticator;
  api::identity::CreatedOrganization org;
};

void expect_401(auth::Authenticator& authenticator, std::optional<std::string_view> header, std::string_view what) {
  try {
    authenticator.authenticate(header, util::now_ms());
  } catch (const errors::ApiError& e) {
    if (e.status() != errors::Status::unauthorized) ok::fuzz::violation("authenticate threw a non-401 ApiError", what);
    return;
  }
  ok::fuzz::violation("authenticate accepted a token it should not", what);
}

Env& env() {
  static Env* e = [] {
    auto* created = new Env;  // never destroyed: it lives as long as the process
    created->store = ok::fuzz::make_temp_store();
    created->authenticator = std::make_unique<auth::Authenticator>(*created->store, created->generations);
    created->org = ok::fuzz::make_organization(*created->store);
    for (auto kind : {auth::TokenKind::personal, auth::TokenKind::system_account}) {
      if (auth::token_kind(auth::generate_token(kind)) != kind) ok::fuzz::violation("a generated token has the wrong shape");
    }
    expect_401(*created->authenticator, std::nullopt, "no header");
    return created;
  }();
  return *e;
}

bool lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Env& e = env();
  std::string header(reinterpret_cast<const char*>(data), size);
  ok::fuzz::substitute(header, {{"$VALID", e.org.token}});
  const std::string_view view = header;

  const auto token = auth::bearer_token(view);
  if (token) {
    if (token->data() < view.data() || token->data() + token->size() > view.data() + view.size()) {
      ok::fuzz::violation("bearer_token returned memory outside its input");
    }
  }
  for (std::string_view candidate : {view, token.value_or(std::string_view{})}) {
    if (const auto kind = auth::token_kind(candidate)) {
      const auto prefix = *kind == auth::TokenKind::personal ? auth::kPersonalPrefix : auth::kSystemAccountPrefix;
      if (candidate.size() != auth::token_length(*kind) || !candidate.starts_with(prefix)) {
        ok::fuzz::violation("token_kind accepted a token of the wrong shape", candidate);
      }
    }
    const auto hash = auth::hash_token(candidate);
    if (hash.size() != 64 || !lower_hex(hash)) ok::fuzz::violation("hash_token is not 64 lower-case hex digits", hash);
    if (!auth::hashes_equal(hash, auth::hash_token(candidate))) ok::fuzz::violation("hash_token is not deterministic");
  }

  const bool valid = token && *token == e.org.token;
  if (!valid) {
    expect_401(*e.authenticator, view, view);
    return 0;
  }
  try {
    const auto principal = e.authenticator->authenticate(view, util::now_ms());
    if (principal.org.str() != e.org.organization_id || principal.id != e.org.user_id) {
      ok::fuzz::violation("the valid token authenticated as someone else");
    }
  } catch (const errors::ApiError& err) {
    ok::fuzz::violation("the valid token was refused", err.detail());
  }
  return 0;
}
