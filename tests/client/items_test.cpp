// The list iterators over both dialects: where they stop, and that an error ends the walk
// visibly.
#include <map>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "fake_transport.hpp"

namespace openkonnect::client {
namespace {

namespace bj = boost::json;
using testing::answer;
using testing::FakeTransport;
using testing::problem;

std::string decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The path and the decoded query parameters of a request target.
std::pair<std::string, std::map<std::string, std::string>> split(const std::string& target) {
  const auto question = target.find('?');
  std::map<std::string, std::string> query;
  if (question == std::string::npos) return {target, query};
  std::string_view rest(target);
  rest.remove_prefix(question + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    query[decode(pair.substr(0, eq))] = decode(pair.substr(eq + 1));
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  return {target.substr(0, question), query};
}

bj::array numbered_entries(int first, int count) {
  bj::array data;
  for (int i = first; i < first + count; ++i) data.push_back(bj::object{{"id", std::to_string(i)}});
  return data;
}

// A server holding `total` entries in numbered pages; `fail_page` answers 500 instead.
FakeTransport::Handler numbered_server(int total, int fail_page = 0) {
  return [=](const Request& request) -> Result<Response> {
    auto [path, query] = split(request.target);
    const int size = std::stoi(query.at("page[size]"));
    const int number = std::stoi(query.at("page[number]"));
    if (number == fail_page) return answer(500, problem(500, "Internal Server Error", "Boom."));
    const int first = (number - 1) * size;
    const int count = std::max(0, std::min(size, total - first));
    bj::object body{{"data", numbered_entries(first, count)},
                    {"meta", {{"page", {{"number", number}, {"size", size}, {"total", total}}}}}};
    return answer(200, bj::serialize(body));
  };
}

// A server holding `total` entries in size/offset pages (the offset is the next index).
FakeTransport::Handler offset_server(int total, int fail_after_pages = -1) {
  auto pages = std::make_shared<int>(0);
  return [=](const Request& request) -> Result<Response> {
    auto [path, query] = split(request.target);
    if (fail_after_pages >= 0 && (*pages)++ == fail_after_pages) {
      return answer(503, problem(503, "Service Unavailable", "Down."));
    }
    const int size = std::stoi(query.at("size"));
    const int first = query.count("offset") != 0 ? std::stoi(query.at("offset")) : 0;
    const int count = std::max(0, std::min(size, total - first));
    bj::object body{{"data", numbered_entries(first, count)}};
    if (first + count < total) {
      body["offset"] = std::to_string(first + count);
      body["next"] = path + "?offset=" + std::to_string(first + count);
    }
    return answer(200, bj::serialize(body));
  };
}

Client make_client(const std::shared_ptr<FakeTransport>& transport) {
  return Client(Options{.token = "t", .retry = {.max_attempts = 1}}, transport);
}

std::vector<std::string> ids(Items& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    EXPECT_TRUE(item) << item.error().to_string();
    if (item) out.emplace_back(item->at("id").as_string());
  }
  return out;
}

TEST(NumberedPages, WalksEveryPageAndStopsAtTheTotal) {
  auto transport = std::make_shared<FakeTransport>();
  transport->handle(numbered_server(250));
  auto client = make_client(transport);
  auto items = client.control_planes({{"filter[name][contains]", "a b"}}, 100);
  const auto seen = ids(items);
  ASSERT_EQ(seen.size(), 250u);
  EXPECT_EQ(seen.front(), "0");
  EXPECT_EQ(seen.back(), "249");
  EXPECT_EQ(items.pages_fetched(), 3);
  ASSERT_EQ(transport->requests.size(), 3u);
  EXPECT_EQ(transport->requests[0].target,
            "/v2/control-planes?filter%5Bname%5D%5Bcontains%5D=a%20b&page%5Bsize%5D=100&page%5Bnumber%5D=1");
  EXPECT_EQ(split(transport->requests[2].target).second.at("page[number]"), "3");
}

TEST(NumberedPages, AnExactMultipleOfThePageSizeAsksForNoEmptyPage) {
  auto transport = std::make_shared<FakeTransport>();
  transport->handle(numbered_server(200));
  auto client = make_client(transport);
  auto items = client.users({}, 100);
  EXPECT_EQ(ids(items).size(), 200u);
  EXPECT_EQ(transport->requests.size(), 2u);
  EXPECT_EQ(split(transport->requests[0].target).first, "/v3/users");
}

TEST(NumberedPages, AnEmptyCollectionIsOneRequestAndNoItems) {
  auto transport = std::make_shared<FakeTransport>();
  transport->handle(numbered_server(0));
  auto client = make_client(transport);
  auto items = client.control_planes();
  EXPECT_FALSE(items.next().has_value());
  EXPECT_FALSE(items.next().has_value());  // stays finished
  EXPECT_EQ(transport->requests.size(), 1u);
}

TEST(NumberedPages, WithoutATotalAShortOrEmptyPageEndsTheWalk) {
  auto transport = std::make_shared<FakeTransport>();
  transport->script({answer(200, R"({"data":[{"id":"a"},{"id":"b"}],"meta":{"page":{"number":1,"size":2}}})"),
                     answer(200, R"({"data":[{"id":"c"}],"meta":{"page":{"number":2,"size":2}}})")});
  auto client = make_client(transport);
  auto items = client.control_planes({}, 2);
  EXPECT_EQ(ids(items), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(transport->requests.size(), 2u);

  auto empty_transport = std::make_shared<FakeTransport>();
  empty_transport->script({answer(200, R"({"data":[{"id":"a"}],"meta":{}})"), answer(200, R"({"data":[]})")});
  auto other = make_client(empty_transport);
  auto more = other.control_planes({}, 1);
  EXPECT_EQ(ids(more), std::vector<std::string>{"a"});
  EXPECT_EQ(empty_transport->requests.size(), 2u);
}

TEST(NumberedPages, AnErrorMidwayIsYieldedOnceAfterTheItemsBeforeItAndEndsTheWalk) {
  auto transport = std::make_shared<FakeTransport>();
  transport->handle(numbered_server(250, /*fail_page=*/2));
  auto client = make_client(transport);
  auto items = client.control_planes({}, 100);
  int good = 0;
  std::optional<Error> error;
  for (const auto& item : items) {
    if (item) {
      ++good;
    } else {
      ASSERT_FALSE(error.has_value()) << "an error is yielded once";
      error = item.error();
    }
  }
  EXPECT_EQ(good, 100);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, ErrorKind::ServerError);
  EXPECT_EQ(error->detail, "Boom.");
  EXPECT_EQ(transport->requests.size(), 2u);  // page 3 is never asked for
  EXPECT_FALSE(items.next().has_value());
}

TEST(NumberedPages, AllReturnsTheFirstError) {
  auto transport = std::make_shared<FakeTransport>();
  transport->handle(numbered_server(30, /*fail_page=*/3));
  auto client = make_client(transport);
  auto all = client.control_planes({}, 10).all();
  ASSERT_FALSE(all);
  EXPECT_EQ(all.error().status, 500);

  auto fine = std::make_shared<FakeTransport>();
  fine->handle(numbered_server(30));
  auto other = make_client(fine);
  auto every = other.control_planes({}, 10).all();
  ASSERT_TRUE(every);
  EXPECT_EQ(every->size(), 30u);
}

TEST(NumberedPages, AnAnswerWithoutADataArrayIsAProtocolError) {
  auto transport = std::make_shared<FakeTransport>();
  transport->script({answer(200, R"({"items":[]})")});
  auto client = make_client(transport);
  auto items = client.control_planes();
  auto first = items.next();
  ASSERT_TRUE(first.has_value());
  ASSERT_FALSE(*first);
  EXPECT_EQ(first->error().transport, TransportFailure::Protocol);
  EXPECT_FALSE(items.next().has_value());
}

TEST(SizeOffset, FollowsTheOffsetUntilAnAnswerHasNone) {
  auto transport = std::make_shared<FakeTransport>();
  transport->handle(offset_server(250));
  auto client = make_client(transport);
  auto items = client.entities("cp 1", {"services"}, {{"tags", "a,b"}}, 100);
  const auto seen = ids(items);
  ASSERT_EQ(seen.size(), 250u);
  EXPECT_EQ(seen[249], "249");
  ASSERT_EQ(transport->requests.size(), 3u);
  EXPECT_EQ(transport->requests[0].target, "/v2/control-planes/cp%201/core-entities/services?tags=a%2Cb&size=100");
  EXPECT_EQ(split(transport->requests[1].target).second.at("offset"), "100");
  EXPECT_EQ(split(transport->requests[2].target).second.at("offset"), "200");
}

TEST(SizeOffset, AnExactMultipleEndsWithTheLastFullPage) {
  auto transport = std::make_shared<FakeTransport>();
  transport->handle(offset_server(200));
  auto client = make_client(transport);
  auto items = client.entities("cp", {"services", "orders", "routes"}, {}, 100);
  EXPECT_EQ(ids(items).size(), 200u);
  EXPECT_EQ(transport->requests.size(), 2u);
  EXPECT_EQ(split(transport->requests[0].target).first, "/v2/control-planes/cp/core-entities/services/orders/routes");
}

TEST(SizeOffset, AnEmptyCollectionIsOneRequest) {
  auto transport = std::make_shared<FakeTransport>();
  transport->handle(offset_server(0));
  auto client = make_client(transport);
  auto items = client.entities("cp", {"consumers"});
  EXPECT_FALSE(items.next().has_value());
  EXPECT_EQ(transport->requests.size(), 1u);
}

TEST(SizeOffset, AnErrorMidwayEndsTheWalkAfterTheItemsBeforeIt) {
  auto transport = std::make_shared<FakeTransport>();
  transport->handle(offset_server(250, /*fail_after_pages=*/1));
  auto client = make_client(transport);
  auto items = client.entities("cp", {"services"}, {}, 100);
  auto all = items.all();
  ASSERT_FALSE(all);
  EXPECT_EQ(all.error().kind, ErrorKind::Unavailable);
  EXPECT_EQ(all.error().detail, "Down.");
  EXPECT_EQ(items.pages_fetched(), 2);
  EXPECT_FALSE(items.next().has_value());
}

TEST(SizeOffset, ARepeatedOffsetIsAProtocolErrorNotALoop) {
  auto transport = std::make_shared<FakeTransport>();
  transport->handle(
      [](const Request&) { return Result<Response>(answer(200, R"({"data":[{"id":"a"}],"offset":"same"})")); });
  auto client = make_client(transport);
  auto items = client.entities("cp", {"services"});
  int good = 0;
  std::optional<Error> error;
  for (const auto& item : items) {
    if (item) {
      ++good;
    } else {
      error = item.error();
    }
  }
  EXPECT_EQ(good, 1);  // the suspect page's entries are not yielded
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->transport, TransportFailure::Protocol);
  EXPECT_EQ(transport->requests.size(), 2u);
}

TEST(SizeOffset, ANullOrEmptyOffsetMeansTheLastPage) {
  for (const char* last :
       {R"({"data":[{"id":"a"}],"offset":null,"next":null})", R"({"data":[{"id":"a"}],"offset":""})"}) {
    auto transport = std::make_shared<FakeTransport>();
    transport->script({answer(200, last)});
    auto client = make_client(transport);
    auto items = client.entities("cp", {"services"});
    EXPECT_EQ(ids(items), std::vector<std::string>{"a"});
    EXPECT_EQ(transport->requests.size(), 1u);
  }
}

}  // namespace
}  // namespace openkonnect::client
