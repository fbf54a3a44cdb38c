#include "util/ids.hpp"

#include <gtest/gtest.h>

#include <array>
#include <regex>
#include <set>
#include <string>

namespace {

using ok::util::format_rfc3339_ms;
using ok::util::new_uuid;
using ok::util::parse_rfc3339;

// 1700000000 s since the epoch is 2023-11-14T22:13:20Z.
constexpr std::int64_t kNov2023 = 1'700'000'000'000;

std::int64_t parsed(std::string_view text) {
  std::int64_t ms = -12345;
  EXPECT_TRUE(parse_rfc3339(text, ms)) << text;
  return ms;
}

TEST(Ids, NewUuidIsVersion4Lowercase) {
  static const std::regex kV4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 200; ++i) {
    const auto id = new_uuid();
    EXPECT_TRUE(std::regex_match(id, kV4)) << id;
  }
}

TEST(Ids, NewUuidIsUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) seen.insert(new_uuid());
  EXPECT_EQ(seen.size(), 20000u);
}

TEST(Ids, NewUuidVariesInEveryRandomPosition) {
  // Every one of the 30 hex digits not fixed by version/variant bits takes several values.
  std::array<std::set<char>, 36> seen;
  for (int i = 0; i < 500; ++i) {
    const auto id = new_uuid();
    for (std::size_t j = 0; j < 36; ++j) seen[j].insert(id[j]);
  }
  for (std::size_t j = 0; j < 36; ++j) {
    if (j == 8 || j == 13 || j == 18 || j == 23) {
      EXPECT_EQ(seen[j], std::set<char>{'-'});
    } else if (j == 14) {
      EXPECT_EQ(seen[j], std::set<char>{'4'});
    } else if (j == 19) {
      EXPECT_EQ(seen[j], (std::set<char>{'8', '9', 'a', 'b'}));
    } else {
      EXPECT_GT(seen[j].size(), 8u) << "position " << j;
    }
  }
}

TEST(Ids, NowMsIsCurrent) {
  const auto now = ok::util::now_ms();
  EXPECT_GT(now, kNov2023);                       // after this code was written
  EXPECT_LT(now, 4'102'444'800'000);              // before 2100
}

TEST(Ids, FormatRfc3339Ms) {
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(kNov2023), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(format_rfc3339_ms(kNov2023 + 123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(format_rfc3339_ms(kNov2023 + 7), "2023-11-14T22:13:20.007Z");
  EXPECT_EQ(format_rfc3339_ms(951'782'400'000), "2000-02-29T00:00:00.000Z");  // leap day
  EXPECT_EQ(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(253'402'300'799'999), "9999-12-31T23:59:59.999Z");
}

TEST(Ids, ParseRfc3339Utc) {
  EXPECT_EQ(parsed("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parsed("2023-11-14T22:13:20Z"), kNov2023);
  EXPECT_EQ(parsed("2023-11-14T22:13:20.123Z"), kNov2023 + 123);
  EXPECT_EQ(parsed("2023-11-14t22:13:20z"), kNov2023);
  EXPECT_EQ(parsed("2000-02-29T00:00:00Z"), 951'782'400'000);
  EXPECT_EQ(parsed("1969-12-31T23:59:59.999Z"), -1);
}

TEST(Ids, ParseRfc3339Offsets) {
  EXPECT_EQ(parsed("2023-11-14T23:13:20+01:00"), kNov2023);
  EXPECT_EQ(parsed("2023-11-15T03:43:20+05:30"), kNov2023);
  EXPECT_EQ(parsed("2023-11-14T14:13:20-08:00"), kNov2023);
  EXPECT_EQ(parsed("2023-11-14T22:13:20+00:00"), kNov2023);
  EXPECT_EQ(parsed("2023-11-14T22:13:20-00:00"), kNov2023);
  EXPECT_EQ(parsed("2023-11-15T00:13:20.5+02:00"), kNov2023 + 500);
}

TEST(Ids, ParseRfc3339Fractions) {
  EXPECT_EQ(parsed("2023-11-14T22:13:20.1Z"), kNov2023 + 100);
  EXPECT_EQ(parsed("2023-11-14T22:13:20.12Z"), kNov2023 + 120);
  EXPECT_EQ(parsed("2023-11-14T22:13:20.999Z"), kNov2023 + 999);
  // Digits beyond milliseconds are dropped, not rounded into the next second.
  EXPECT_EQ(parsed("2023-11-14T22:13:20.123456789Z"), kNov2023 + 123);
  EXPECT_EQ(parsed("2023-11-14T22:13:20.9999999Z"), kNov2023 + 999);
  EXPECT_EQ(parsed("2023-11-14T22:13:20.000000000000000000000001Z"), kNov2023);
}

TEST(Ids, FormatThenParseRoundTrips) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, std::int64_t{999}, std::int64_t{-1}, std::int64_t{-1001},
                          kNov2023 + 42, std::int64_t{951'782'400'000}, std::int64_t{4'102'444'799'999},
                          ok::util::now_ms()}) {
    const auto text = format_rfc3339_ms(ms);
    std::int64_t back = 0;
    ASSERT_TRUE(parse_rfc3339(text, back)) << text;
    EXPECT_EQ(back, ms) << text;
  }
}

TEST(Ids, ParseRfc3339RejectsGarbage) {
  for (const char* s : {"", "garbage", "2023-11-14", "22:13:20Z", "2023-11-14T22:13:20", "2023-11-14 22:13:20Z",
                        "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+0100", "2023-11-14T22:13:20+01",
                        "2023-11-14T22:13:20+01:00Z", "2023-11-14T22:13:20ZZ", "2023-11-14T22:13:20Z ",
                        " 2023-11-14T22:13:20Z", "2023-13-14T22:13:20Z", "2023-00-14T22:13:20Z",
                        "2023-11-00T22:13:20Z", "2023-11-32T22:13:20Z", "2023-11-14T24:13:20Z",
                        "2023-11-14T22:60:20Z", "2023-11-14T22:13:61Z", "2023-11-14T22:13:20+24:00",
                        "2023-11-14T22:13:20+01:60", "2023/11/14T22:13:20Z", "1700000000000", "+2023-11-14T22:13:20Z",
                        "2023-1-14T22:13:20Z", "2023-11-14T22:13:2Z", "2023-11-14X22:13:20Z"}) {
    std::int64_t ms = 777;
    EXPECT_FALSE(parse_rfc3339(s, ms)) << s;
  }
}

// RFC 3339 §5.7: a day past the end of its month is not a date. Accepting it would silently
// turn 2023-02-30 into 2023-03-02.
TEST(Ids, ParseRfc3339RejectsImpossibleDates) {
  for (const char* s : {"2023-02-29T00:00:00Z", "2023-02-30T00:00:00Z", "2023-04-31T00:00:00Z",
                        "2100-02-29T00:00:00Z"}) {
    std::int64_t ms = 0;
    EXPECT_FALSE(parse_rfc3339(s, ms)) << s << " parsed as " << format_rfc3339_ms(ms);
  }
  std::int64_t ms = 0;
  EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z", ms));
  EXPECT_TRUE(parse_rfc3339("2000-02-29T00:00:00Z", ms));
}

}  // namespace
