#include "http/parse.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using ok::http::parse_request;
using ok::http::ParsedRequest;
using ok::http::ParseLimits;
using Status = ParsedRequest::Status;

const ParseLimits kLimits{.max_header_bytes = 1024, .max_body_bytes = 16};

TEST(ParseRequest, CompleteRequestWithBody) {
  const std::string bytes = "POST /v3/teams HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
  auto p = parse_request(bytes, kLimits);
  ASSERT_EQ(p.status, Status::complete);
  EXPECT_EQ(p.consumed, bytes.size());
  EXPECT_EQ(p.request.method, "POST");
  EXPECT_EQ(p.request.target, "/v3/teams");
  EXPECT_EQ(p.request.header("content-type"), "application/json");  // names are lower-cased
  EXPECT_EQ(p.request.body, "{}");
  EXPECT_TRUE(p.keep_alive);
}

TEST(ParseRequest, PipelinedRequestsAreParsedOneAtATime) {
  const std::string first = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string second = "GET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  const std::string bytes = first + second;
  auto p = parse_request(bytes, kLimits);
  ASSERT_EQ(p.status, Status::complete);
  EXPECT_EQ(p.consumed, first.size());
  EXPECT_EQ(p.request.target, "/a");
  auto q = parse_request(std::string_view(bytes).substr(p.consumed), kLimits);
  ASSERT_EQ(q.status, Status::complete);
  EXPECT_EQ(q.request.target, "/b");
  EXPECT_FALSE(q.keep_alive);
}

TEST(ParseRequest, ChunkedBody) {
  const std::string bytes =
      "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n3\r\na\":\r\n2\r\n1}\r\n0\r\n\r\n";
  auto p = parse_request(bytes, kLimits);
  ASSERT_EQ(p.status, Status::complete);
  EXPECT_EQ(p.request.body, "{\"a\":1}");
}

TEST(ParseRequest, IncompleteHeaderOrBody) {
  EXPECT_EQ(parse_request("GET /a HTTP/1.1\r\nHost: h\r\n", kLimits).status, Status::incomplete);
  EXPECT_EQ(parse_request("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n12", kLimits).status,
            Status::incomplete);
  EXPECT_EQ(parse_request("", kLimits).status, Status::incomplete);
}

TEST(ParseRequest, FramingProblemsAre400) {
  for (const std::string bytes : {
           "GET /a HTTP/1.1\r\n\r\n",                                            // no Host
           "GET /a HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n",                      // two Hosts
           "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",     // not chunked
           "GET http://h/a HTTP/1.1\r\nHost: h\r\n\r\n",                         // absolute form
           "GET /a HTTP/9.9\r\nHost: h\r\n\r\n",                                 // bad version
           "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       }) {
    auto p = parse_request(bytes, kLimits);
    ASSERT_EQ(p.status, Status::failed) << bytes;
    ASSERT_TRUE(p.error);
    EXPECT_EQ(p.error->status(), ok::errors::Status::bad_request) << bytes;
    EXPECT_FALSE(p.error->invalid_parameters().empty());
  }
}

TEST(ParseRequest, HeaderBlockOverTheLimitIs431) {
  const std::string bytes = "GET /a HTTP/1.1\r\nHost: h\r\nX-Pad: " + std::string(2000, 'a') + "\r\n\r\n";
  auto p = parse_request(bytes, kLimits);
  ASSERT_EQ(p.status, Status::failed);
  EXPECT_EQ(p.error->status(), ok::errors::Status::header_fields_too_large);
}

TEST(ParseRequest, BodyOverTheLimitIs413) {
  // A Content-Length over the limit fails while the header is read (as in the server).
  auto p = parse_request("POST /v3/teams HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n", kLimits);
  ASSERT_EQ(p.status, Status::failed);
  EXPECT_EQ(p.error->status(), ok::errors::Status::content_too_large);

  // A chunked body fails once it grows past the limit; method and target are known by then.
  const std::string chunked = "POST /v3/teams HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n" +
                              std::string(17, 'a') + "\r\n0\r\n\r\n";
  auto q = parse_request(chunked, kLimits);
  ASSERT_EQ(q.status, Status::failed);
  EXPECT_EQ(q.error->status(), ok::errors::Status::content_too_large);
  EXPECT_EQ(q.request.method, "POST");
  EXPECT_EQ(q.request.target, "/v3/teams");
}

}  // namespace
