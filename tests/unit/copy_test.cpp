#include "store/sql/copy.hpp"
#include "store/sql/backend.hpp"
#include "store/store.hpp"
#include "util/ids.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

namespace {

namespace fs = std::filesystem;
using namespace ok::store;

class CopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("openkonnect-copy-" + ok::util::new_uuid());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string url(const std::string& name) const { return "sqlite:" + (dir_ / name).string(); }
  fs::path dir_;
};

// A table added by a later migration must be copied, or named here as derived: otherwise
// `openkonnect copy` would silently leave its rows behind.
TEST_F(CopyTest, CopiedTablesAreEveryTableThatHoldsData) {
  auto backend = sql::open_backend(url("schema.db"));
  auto c = backend->connect();
  backend->apply_migrations(*c);
  const std::set<std::string> derived = {"schema_migrations", "control_plane_counts"};
  std::set<std::string> holding_data;
  sql::Query q(*c,
               "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE "
               "'control_plane_names%'");
  while (q->step()) {
    if (!derived.contains(q->text(0))) holding_data.insert(q->text(0));
  }
  const auto& copied = sql::copied_tables();
  EXPECT_EQ(holding_data, std::set<std::string>(copied.begin(), copied.end()));
  EXPECT_EQ(copied.size(), holding_data.size()) << "a table is listed twice";
}

TEST_F(CopyTest, RowsArriveVerifiedAndASecondCopyIsRefused) {
  auto from = sql::open_backend(url("from.db"));
  {
    auto c = from->connect();
    from->apply_migrations(*c);
    c->exec("INSERT INTO organizations (id, name, created_at, updated_at) VALUES ('o1', 'Ä ''quoted''', 1, 2)");
    c->exec(
        "INSERT INTO teams (id, org_id, name, description, created_at, updated_at) VALUES ('t1', 'o1', '', NULL, "
        "3, 4)");
  }
  auto to = sql::open_backend(url("to.db"));
  std::size_t reported = 0;
  const auto copied = sql::copy_database(*from, *to, [&](const sql::TableCopy&, std::size_t done, std::size_t total) {
    EXPECT_EQ(done, ++reported);
    EXPECT_EQ(total, sql::copied_tables().size());
  });
  ASSERT_EQ(copied.size(), sql::copied_tables().size());
  EXPECT_EQ(copied[0].table, "organizations");
  EXPECT_EQ(copied[0].rows, 1);

  auto c = to->connect();
  sql::Query q(
      *c, "SELECT o.name, t.description IS NULL, o.created_at FROM organizations o JOIN teams t ON t.org_id = o.id");
  ASSERT_TRUE(q->step());
  EXPECT_EQ(q->text(0), "Ä 'quoted'");
  EXPECT_EQ(q->integer(1), 1) << "NULL stays NULL";
  EXPECT_EQ(q->integer(2), 1);

  EXPECT_THROW(sql::copy_database(*from, *to), sql::CopyError);
}

TEST_F(CopyTest, DigestsDoNotDependOnRowOrderButOnContent) {
  auto a = sql::open_backend(url("a.db"));
  auto b = sql::open_backend(url("b.db"));
  auto ca = a->connect();
  auto cb = b->connect();
  a->apply_migrations(*ca);
  b->apply_migrations(*cb);
  ca->exec("INSERT INTO organizations (id, name, created_at, updated_at) VALUES ('x', 'n', 1, 1), ('y', '', 1, 1)");
  cb->exec("INSERT INTO organizations (id, name, created_at, updated_at) VALUES ('y', '', 1, 1), ('x', 'n', 1, 1)");
  const auto first = sql::copy_database(*a, *sql::open_backend(url("a2.db")));
  const auto second = sql::copy_database(*b, *sql::open_backend(url("b2.db")));
  EXPECT_EQ(first[0].digest, second[0].digest);

  auto c = sql::open_backend(url("c.db"));
  auto cc = c->connect();
  c->apply_migrations(*cc);
  // "n" + "" against "" + "n": the same characters, other rows.
  cc->exec("INSERT INTO organizations (id, name, created_at, updated_at) VALUES ('x', '', 1, 1), ('y', 'n', 1, 1)");
  const auto third = sql::copy_database(*c, *sql::open_backend(url("c2.db")));
  EXPECT_NE(first[0].digest, third[0].digest);
}

TEST(RedactedUrl, HidesOnlyThePassword) {
  EXPECT_EQ(redacted_url("postgres://ok:s3cr:et@db.internal:5432/ok"), "postgres://ok:***@db.internal:5432/ok");
  EXPECT_EQ(redacted_url("redis://:pw@127.0.0.1:6379/0"), "redis://:***@127.0.0.1:6379/0");
  EXPECT_EQ(redacted_url("postgres://ok@db/ok"), "postgres://ok@db/ok");
  EXPECT_EQ(redacted_url("postgres://db/ok?user=a@b"), "postgres://db/ok?user=a@b");
  EXPECT_EQ(redacted_url("sqlite:./var/a:b@c.db"), "sqlite:./var/a:b@c.db");
}

}  // namespace
