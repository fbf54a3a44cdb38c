// Errors from real-shaped problem+json bodies (../shared/konnect/README.md and FACTS.md a.2,
// a.3), and from bodies a proxy in between might send instead.
#include <gtest/gtest.h>

#include "openkonnect/client/error.hpp"

namespace openkonnect::client {
namespace {

TEST(ErrorFromResponse, BadRequestCarriesEveryInvalidParameterWithItsShape) {
  const std::string body = R"({"status":400,"title":"Bad Request","type":"https://httpstatuses.com/400",
    "instance":"kong:trace:8347343766220159418","detail":"Invalid request.","message":"Invalid request.",
    "invalid_parameters":[
      {"field":"cluster_type","rule":"enum","reason":"must be one of the choices","source":"body",
       "choices":["CLUSTER_TYPE_CONTROL_PLANE","CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"]},
      {"field":"page[size]","rule":"min","reason":"must be at least 1","source":"query","minimum":1},
      {"field":"ttl_seconds","rule":"dependent_fields","reason":"cannot be set with expires_at",
       "dependents":["expires_at"]},
      {"field":"name","rule":"max_length","reason":"is too long","maximum":100},
      {"field":"body","reason":"request format is invalid"}]})";
  const Error error = error_from_response(400, body, "", "");
  EXPECT_EQ(error.kind, ErrorKind::BadRequest);
  EXPECT_EQ(error.status, 400);
  EXPECT_EQ(error.title, "Bad Request");
  EXPECT_EQ(error.detail, "Invalid request.");
  EXPECT_EQ(error.instance, "kong:trace:8347343766220159418");
  ASSERT_EQ(error.invalid_parameters.size(), 5u);

  const auto& choice = error.invalid_parameters[0];
  EXPECT_EQ(choice.field, "cluster_type");
  EXPECT_EQ(choice.rule, "enum");
  EXPECT_EQ(choice.source, "body");
  ASSERT_EQ(choice.choices.size(), 2u);
  EXPECT_EQ(choice.choices[1].as_string(), "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER");
  EXPECT_FALSE(choice.minimum.has_value());

  const auto& minimum = error.invalid_parameters[1];
  EXPECT_EQ(minimum.field, "page[size]");
  EXPECT_EQ(minimum.rule, "min");
  EXPECT_EQ(minimum.source, "query");
  EXPECT_EQ(minimum.minimum, 1);
  EXPECT_TRUE(minimum.choices.empty());

  const auto& dependent = error.invalid_parameters[2];
  ASSERT_TRUE(dependent.dependents.has_value());
  EXPECT_EQ(*dependent.dependents, std::vector<std::string>{"expires_at"});

  EXPECT_EQ(error.invalid_parameters[3].maximum, 100);

  const auto& standard = error.invalid_parameters[4];
  EXPECT_EQ(standard.field, "body");
  EXPECT_EQ(standard.rule, "");  // absent in the Standard shape
  EXPECT_EQ(standard.source, "");
  EXPECT_EQ(standard.reason, "request format is invalid");
}

struct StatusCase {
  int status;
  const char* title;
  const char* detail;
  ErrorKind kind;
};

class ErrorClass : public ::testing::TestWithParam<StatusCase> {};

TEST_P(ErrorClass, EachStatusOfTheContractHasItsKindAndKeepsTheProblemFields) {
  const auto& c = GetParam();
  const std::string body = R"({"status":)" + std::to_string(c.status) + R"(,"title":")" + c.title +
                           R"(","type":"https://httpstatuses.com/)" + std::to_string(c.status) +
                           R"(","instance":"kong:trace:2723154947768991354","detail":")" + c.detail +
                           R"(","message":")" + c.detail + R"("})";
  const Error error = error_from_response(c.status, body, "", "2723154947768991354");
  EXPECT_EQ(error.kind, c.kind);
  EXPECT_EQ(error.status, c.status);
  EXPECT_EQ(error.title, c.title);
  EXPECT_EQ(error.detail, c.detail);
  EXPECT_EQ(error.instance, "kong:trace:2723154947768991354");
  EXPECT_TRUE(error.invalid_parameters.empty());
  EXPECT_EQ(error.transport, TransportFailure::None);
}

INSTANTIATE_TEST_SUITE_P(
    Contract, ErrorClass,
    ::testing::Values(
        StatusCase{401, "Unauthorized", "Invalid credentials.", ErrorKind::Unauthorized},
        StatusCase{403, "Forbidden", "Insufficient permissions: role [Creator] on [Control Planes] is required.",
                   ErrorKind::Forbidden},
        StatusCase{404, "Not Found", "The requested control plane was not found.", ErrorKind::NotFound},
        StatusCase{409, "Conflict", "Control plane with name [prod] already exists.", ErrorKind::Conflict},
        StatusCase{429, "Too Many Requests", "Too many requests.", ErrorKind::TooManyRequests},
        StatusCase{500, "Internal Server Error", "An unexpected error occurred.", ErrorKind::ServerError},
        StatusCase{503, "Service Unavailable", "The database is unavailable.", ErrorKind::Unavailable},
        StatusCase{405, "Method Not Allowed", "Method not allowed.", ErrorKind::OtherStatus},
        StatusCase{415, "Unsupported Media Type", "Unsupported media type.", ErrorKind::OtherStatus}));

TEST(ErrorFromResponse, RetryAfterIsReadFromTheHeader) {
  const Error limited = error_from_response(429, R"({"status":429,"title":"Too Many Requests"})", "7", "");
  EXPECT_EQ(limited.kind, ErrorKind::TooManyRequests);
  EXPECT_EQ(limited.retry_after, 7);
  const Error unavailable = error_from_response(503, "", " 2 ", "");
  EXPECT_EQ(unavailable.kind, ErrorKind::Unavailable);
  EXPECT_EQ(unavailable.retry_after, 2);
  EXPECT_FALSE(error_from_response(503, "", "", "").retry_after.has_value());
}

TEST(ErrorFromResponse, ANonJsonBodyStillGivesTheClassAndKeepsAnExcerpt) {
  const Error gateway = error_from_response(502, "<html><body>502 Bad Gateway</body></html>", "", "");
  EXPECT_EQ(gateway.kind, ErrorKind::Unavailable);
  EXPECT_EQ(gateway.status, 502);
  EXPECT_EQ(gateway.title, "");
  EXPECT_EQ(gateway.detail, "<html><body>502 Bad Gateway</body></html>");

  const Error bad = error_from_response(400, "not json at all", "", "");
  EXPECT_EQ(bad.kind, ErrorKind::BadRequest);
  EXPECT_TRUE(bad.invalid_parameters.empty());

  const Error empty = error_from_response(404, "", "", "");
  EXPECT_EQ(empty.kind, ErrorKind::NotFound);
  EXPECT_EQ(empty.detail, "");

  const std::string huge(10000, 'x');
  EXPECT_EQ(error_from_response(500, huge, "", "").detail.size(), 200u);
}

TEST(ErrorFromResponse, PartialOrOddlyTypedBodiesAreTolerated) {
  // Kong's gateway-style body: only `message`; `status` as a string; invalid_parameters not a list.
  const Error error = error_from_response(
      400, R"({"message":"name is required","status":"400","invalid_parameters":{"field":"x"}})", "", "");
  EXPECT_EQ(error.kind, ErrorKind::BadRequest);
  EXPECT_EQ(error.detail, "name is required");
  EXPECT_TRUE(error.invalid_parameters.empty());

  // An item with wrong-typed members keeps what it can.
  const Error partial = error_from_response(
      400, R"({"invalid_parameters":[{"field":"a","minimum":"3","choices":"x"},7,{"reason":"r","maximum":5.0}]})", "",
      "");
  ASSERT_EQ(partial.invalid_parameters.size(), 2u);
  EXPECT_EQ(partial.invalid_parameters[0].field, "a");
  EXPECT_FALSE(partial.invalid_parameters[0].minimum.has_value());
  EXPECT_TRUE(partial.invalid_parameters[0].choices.empty());
  EXPECT_EQ(partial.invalid_parameters[1].maximum, 5);
}

TEST(ErrorFromResponse, TheRequestIdHeaderStandsInForAMissingInstance) {
  EXPECT_EQ(error_from_response(503, "Service Unavailable", "", "42").instance, "kong:trace:42");
  EXPECT_EQ(error_from_response(503, R"({"instance":"kong:trace:7"})", "", "42").instance, "kong:trace:7");
}

TEST(ParseRetryAfter, OnlyDeltaSecondsAreAccepted) {
  EXPECT_EQ(parse_retry_after("0"), 0);
  EXPECT_EQ(parse_retry_after("120"), 120);
  EXPECT_FALSE(parse_retry_after("").has_value());
  EXPECT_FALSE(parse_retry_after("-1").has_value());
  EXPECT_FALSE(parse_retry_after("1.5").has_value());
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  EXPECT_FALSE(parse_retry_after("99999999999999").has_value());
}

TEST(KindOfStatus, GatewayStatusesAreUnavailableOtherFiveHundredsServerErrors) {
  EXPECT_EQ(kind_of_status(502), ErrorKind::Unavailable);
  EXPECT_EQ(kind_of_status(504), ErrorKind::Unavailable);
  EXPECT_EQ(kind_of_status(501), ErrorKind::ServerError);
  EXPECT_EQ(kind_of_status(599), ErrorKind::ServerError);
  EXPECT_EQ(kind_of_status(413), ErrorKind::OtherStatus);
  EXPECT_EQ(kind_of_status(302), ErrorKind::OtherStatus);
}

TEST(ErrorToString, NamesKindStatusDetailParametersAndTrace) {
  Error error = error_from_response(
      400,
      R"({"detail":"Bad.","instance":"kong:trace:9","invalid_parameters":[{"field":"name","rule":"required","reason":"is required"}]})",
      "", "");
  EXPECT_EQ(error.to_string(), "BadRequest 400: Bad. [name required: is required] (kong:trace:9)");
  EXPECT_EQ(transport_error(TransportFailure::Timeout, "timed out").to_string(), "Transport (Timeout): timed out");
}

}  // namespace
}  // namespace openkonnect::client
