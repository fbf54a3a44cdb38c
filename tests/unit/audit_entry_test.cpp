#include "audit/entry.hpp"

#include "crypto/ed25519.hpp"
#include "util/ids.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>

namespace {

using ok::audit::Entry;
using ok::audit::Format;

Entry access_entry() {
  return Entry{.kind = Entry::Kind::access,
               .ts_ms = 1681450748406,  // 2023-04-14T05:39:08.406Z
               .org_id = "b065b594-6afc-4658-9101-5d9cf3f36b7b",
               .principal_id = "87655c36-8d63-48fe-9a1e-53b28dfbc19b",
               .principal_kind = "user",
               .token_id = "5d3c1f0e-0000-4000-8000-000000000001",
               .client_ip = "127.0.0.6",
               .user_agent = "curl/8.0 (x86_64; a=b)",
               .method = "PATCH",
               .path_template = "/v2/control-planes/{controlPlaneId}",
               .path = "/v2/control-planes/3d1c7a4e-5b7f-4a51-9e6a-0c2b8c1d9e01",
               .query = "a=1&b=2",
               .status = 200,
               .trace_id = 3895213347334635099ULL,
               .entity_id = "3d1c7a4e-5b7f-4a51-9e6a-0c2b8c1d9e01"};
}

class AuditEntryTest : public ::testing::Test {
 protected:
  ok::crypto::Ed25519KeyPair key_ = ok::crypto::generate_ed25519();
  ok::crypto::Ed25519Signer signer_{key_.private_pem};

  bool verifies(const std::string& payload, const std::string& sig) const {
    std::string raw;
    return ok::util::base64url_decode(sig, raw) && ok::crypto::ed25519_verify(key_.public_raw, payload, raw);
  }
};

TEST_F(AuditEntryTest, ACefLineIsKonnectsWithEveryValueEscapedAndItsSignatureOverTheRest) {
  const auto line = ok::audit::render_signed(access_entry(), Format::cef, signer_);
  const std::string head =
      "Apr 14 05:39:08 konghq.com CEF:0|KongInc|Konnect|1.0|KongGateway|Ingress|1|rt=1681450748406 src=127.0.0.6 "
      "org_id=b065b594-6afc-4658-9101-5d9cf3f36b7b principal_id=87655c36-8d63-48fe-9a1e-53b28dfbc19b "
      "principal_type=user token_id=5d3c1f0e-0000-4000-8000-000000000001 act=PATCH "
      "request=/v2/control-planes/3d1c7a4e-5b7f-4a51-9e6a-0c2b8c1d9e01 "
      "path_template=/v2/control-planes/{controlPlaneId} query=a\\=1&b\\=2 status=200 "
      "entity_id=3d1c7a4e-5b7f-4a51-9e6a-0c2b8c1d9e01 trace_id=3895213347334635099 "
      "user_agent=curl/8.0 (x86_64; a\\=b) sig=";
  ASSERT_EQ(line.substr(0, head.size()), head);
  const auto sig_at = line.rfind(" sig=");
  const auto sig = line.substr(sig_at + 5);
  EXPECT_EQ(sig.size(), 86u);  // 64 bytes, base64url without padding
  EXPECT_TRUE(verifies(line.substr(0, sig_at), sig));
  EXPECT_FALSE(verifies(line.substr(0, sig_at) + " ", sig));
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST_F(AuditEntryTest, JsonHasTheSpecsTypesAndItsSignatureCoversTheSortedEventWithoutIt) {
  auto event = boost::json::parse(ok::audit::render_signed(access_entry(), Format::json, signer_)).as_object();
  EXPECT_EQ(event.at("rt"), 1681450748406);
  EXPECT_EQ(event.at("status"), 200);
  EXPECT_EQ(event.at("severity"), 1);
  EXPECT_EQ(event.at("trace_id"), "3895213347334635099");
  EXPECT_EQ(event.at("name"), "Ingress");
  EXPECT_EQ(event.at("event_class_id"), "KongGateway");
  EXPECT_EQ(event.at("event_vendor"), "KongInc");
  EXPECT_EQ(event.at("event_ts"), "2023-04-14T05:39:08.406Z");
  EXPECT_EQ(event.at("query"), "a=1&b=2");
  const std::string sig(event.at("sig").as_string());
  event.erase("sig");
  EXPECT_TRUE(verifies(ok::audit::canonical_json(event), sig));
  event["status"] = 201;
  EXPECT_FALSE(verifies(ok::audit::canonical_json(event), sig));
}

TEST_F(AuditEntryTest, CpsWrapsTheSignedJsonEvent) {
  auto wrapped = boost::json::parse(ok::audit::render_signed(access_entry(), Format::cps, signer_));
  auto event = wrapped.at("event").as_object();
  const std::string sig(event.at("sig").as_string());
  event.erase("sig");
  EXPECT_TRUE(verifies(ok::audit::canonical_json(event), sig));
}

TEST(AuditEntry, CanonicalJsonSortsKeysAtEveryDepthAndKeepsUtf8) {
  const auto v = boost::json::parse(R"({"b": 1, "a": {"z": [{"y": 1, "x": "ü"}], "c": null}})").as_object();
  EXPECT_EQ(ok::audit::canonical_json(v), "{\"a\":{\"c\":null,\"z\":[{\"x\":\"ü\",\"y\":1}]},\"b\":1}");
}

TEST(AuditEntry, SeverityFollowsKonnect) {
  auto e = access_entry();
  EXPECT_EQ(ok::audit::severity(e), 1);
  e.status = 404;
  EXPECT_EQ(ok::audit::severity(e), 1);
  e.status = 403;
  EXPECT_EQ(ok::audit::severity(e), 6);
  e.status = 401;
  EXPECT_EQ(ok::audit::severity(e), 6);
  e.status = 503;
  EXPECT_EQ(ok::audit::severity(e), 10);
  Entry auth{.kind = Entry::Kind::authentication, .outcome = "SUCCESS", .auth_type = "PAT"};
  EXPECT_EQ(ok::audit::severity(auth), 0);
  auth.outcome = "TOKEN_EXPIRED";
  EXPECT_EQ(ok::audit::severity(auth), 1);
}

TEST(AuditEntry, AnAuthenticationFailureNamesItsOutcomeAndTokenType) {
  const Entry e{.kind = Entry::Kind::authentication,
                .ts_ms = 1681450748406,
                .client_ip = "10.0.0.1",
                .method = "GET",
                .path = "/v3/users/me",
                .trace_id = 7,
                .outcome = "NOT_FOUND",
                .auth_type = "PAT"};
  const auto json = ok::audit::to_json(e);
  EXPECT_EQ(json.at("name"), "AUTHENTICATION_OUTCOME_NOT_FOUND");
  EXPECT_EQ(json.at("event_class_id"), "AUTHENTICATION_TYPE_PAT");
  EXPECT_EQ(json.at("success"), false);
  EXPECT_FALSE(json.contains("principal_id"));
  EXPECT_EQ(ok::audit::to_cef(e),
            "Apr 14 05:39:08 konghq.com CEF:0|KongInc|Konnect|1.0|AUTHENTICATION_TYPE_PAT|"
            "AUTHENTICATION_OUTCOME_NOT_FOUND|1|rt=1681450748406 src=10.0.0.1 act=GET request=/v3/users/me "
            "success=false trace_id=7");
}

TEST(AuditEntry, FormatsAreTheSpecsNames) {
  EXPECT_EQ(ok::audit::parse_format("cef"), Format::cef);
  EXPECT_EQ(ok::audit::parse_format("json"), Format::json);
  EXPECT_EQ(ok::audit::parse_format("cps"), Format::cps);
  EXPECT_EQ(ok::audit::parse_format("CEF"), std::nullopt);
}

}  // namespace

namespace {

TEST(AuditEntry, EncodeAndDecodeKeepEveryField) {
  auto entry = access_entry();
  entry.kind = Entry::Kind::authentication;
  entry.outcome = "TOKEN_EXPIRED";
  entry.auth_type = "SPAT";
  entry.user_agent = "tab\there, newline\nhere, quote \" and é";
  const auto text = ok::audit::encode(entry);
  // A journal line holds it: no raw tab or newline.
  EXPECT_EQ(text.find('\t'), std::string::npos);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  const auto back = ok::audit::decode(text, entry.org_id, entry.ts_ms);
  EXPECT_EQ(ok::audit::to_cef(back), ok::audit::to_cef(entry));
  EXPECT_EQ(ok::audit::to_json(back), ok::audit::to_json(entry));
  EXPECT_EQ(back.trace_id, entry.trace_id);
  EXPECT_EQ(back.user_agent, entry.user_agent);
  EXPECT_EQ(back.query, entry.query);
  EXPECT_EQ(back.kind, Entry::Kind::authentication);
}

TEST(AuditEntry, DecodeRefusesWhatEncodeDidNotWrite) {
  for (const char* text : {"", "[", "{}", "[1,2]", "not json", R"(["access"])"}) {
    EXPECT_THROW(ok::audit::decode(text, "", 0), std::invalid_argument) << text;
  }
}

}  // namespace
