// The PostgreSQL driver against a real server. Each test runs in a database of its own,
// created on the cluster named by OPENKONNECT_TEST_POSTGRES_URL and dropped afterwards:
//   bash scripts/postgres.sh start /tmp/pgt
//   OPENKONNECT_TEST_POSTGRES_URL=$(cat /tmp/pgt/url) build/unit_tests --gtest_filter='Postgres*'
//   bash scripts/postgres.sh stop /tmp/pgt
#include "store/postgres/backend.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/migrations.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <thread>

namespace {

using ok::store::ConflictError;
using ok::store::UnavailableError;
using ok::store::postgres::number_parameters;
using ok::store::postgres::PgBackend;
using ok::store::sql::Connection;
using ok::store::sql::Query;

std::string translated(std::string_view sql) {
  int params = 0;
  auto out = number_parameters(sql, params);
  return fmt::format("{} [{}]", out, params);
}

TEST(PostgresPlaceholders, NumbersParametersOutsideLiteralsIdentifiersAndComments) {
  EXPECT_EQ(translated("SELECT 1"), "SELECT 1 [0]");
  EXPECT_EQ(translated("SELECT ?, ? FROM t WHERE a = ?"), "SELECT $1, $2 FROM t WHERE a = $3 [3]");
  EXPECT_EQ(translated("SELECT '?', 'it''s ?', ?"), "SELECT '?', 'it''s ?', $1 [1]");
  EXPECT_EQ(translated("SELECT \"odd?name\", ? FROM t"), "SELECT \"odd?name\", $1 FROM t [1]");
  EXPECT_EQ(translated("SELECT ? -- why?\n, ?"), "SELECT $1 -- why?\n, $2 [2]");
  EXPECT_EQ(translated("SELECT /* ? /* ? */ ? */ ?"), "SELECT /* ? /* ? */ ? */ $1 [1]");
  // SQLite's numbering: ?NNN is parameter NNN, a bare ? the largest so far plus one.
  EXPECT_EQ(translated("a = ?1 AND b = ?2 OR c = ?1"), "a = $1 AND b = $2 OR c = $1 [2]");
  EXPECT_EQ(translated("?2, ?, ?"), "$2, $3, $4 [4]");
  EXPECT_EQ(translated("SELECT 'unterminated ?"), "SELECT 'unterminated ? [0]");
}

TEST(PostgresUrl, RejectsOtherSchemesAndMalformedUrlsWithoutThePassword) {
  EXPECT_THROW(PgBackend("sqlite:/tmp/x.db"), std::invalid_argument);
  try {
    PgBackend("postgres://admin:s3cret-pw@[::1/postgres");
    FAIL() << "a malformed URL was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret-pw"), std::string::npos) << e.what();
  }
}

// The URL of database `name` on the server of `base` (a postgres://host:port/db URL).
std::string database_url(const std::string& base, const std::string& name) {
  const auto authority = base.find("://") + 3;
  const auto path = base.find('/', authority);
  const auto query = base.find('?', authority);
  return base.substr(0, std::min(path, query)) + "/" + name + (query == std::string::npos ? "" : base.substr(query));
}

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("OPENKONNECT_TEST_POSTGRES_URL");
    if (!url || !*url) {
      GTEST_SKIP() << "needs a PostgreSQL server: bash scripts/postgres.sh start /tmp/pgt && "
                      "OPENKONNECT_TEST_POSTGRES_URL=$(cat /tmp/pgt/url) unit_tests --gtest_filter='Postgres*'";
    }
    server_url_ = url;
    admin_ = std::make_unique<ok::store::postgres::PgConnection>(server_url_);
    database_ = "t_" + ok::util::new_uuid();
    database_.erase(std::remove(database_.begin(), database_.end(), '-'), database_.end());
    admin_->exec("CREATE DATABASE " + database_);
    backend_ = std::make_unique<PgBackend>(database_url(server_url_, database_));
    c_ = backend_->connect();
  }

  void TearDown() override {
    c_.reset();
    if (admin_) admin_->exec("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
  }

  std::int64_t count(Connection& c, const std::string& sql) {
    Query q(c, sql, Query::Caching::uncached);
    EXPECT_TRUE(q->step());
    return q->integer(0);
  }

  std::string server_url_;
  std::string database_;
  std::unique_ptr<Connection> admin_;
  std::unique_ptr<PgBackend> backend_;
  std::unique_ptr<Connection> c_;
};

TEST_F(PostgresTest, ConnectionNamesTheApplicationUnlessTheUrlDoes) {
  Query q(*c_, "SELECT current_setting('application_name'), current_setting('client_encoding')");
  ASSERT_TRUE(q->step());
  EXPECT_EQ(q->text(0), "openkonnect");
  EXPECT_EQ(q->text(1), "UTF8");
  const auto url = database_url(server_url_, database_);
  ok::store::postgres::PgConnection named(url + (url.find('?') == std::string::npos ? "?" : "&") +
                                          "application_name=node-7&client_encoding=LATIN1");
  Query other(named, "SELECT current_setting('application_name'), current_setting('client_encoding')");
  ASSERT_TRUE(other->step());
  EXPECT_EQ(other->text(0), "node-7");
  EXPECT_EQ(other->text(1), "UTF8");
}

TEST_F(PostgresTest, QuestionMarksInLiteralsAreNotParameters) {
  Query q(*c_, "SELECT '?' || ?, \"q?\" FROM (SELECT 'x' AS \"q?\") s -- ?");
  q->bind(1, "a");
  ASSERT_TRUE(q->step());
  EXPECT_EQ(q->text(0), "?a");
  EXPECT_EQ(q->text(1), "x");
  EXPECT_FALSE(q->step());
}

TEST_F(PostgresTest, BindsAndReadsTextIntegersAndNull) {
  c_->exec("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, at BIGINT)");
  constexpr std::int64_t kBig = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kSmall = std::numeric_limits<std::int64_t>::min();
  {
    Query insert(*c_, "INSERT INTO t (id, name, at) VALUES (?, ?, ?)");
    insert->bind(1, 1).bind(2, "Ärger ' \"quoted\"").bind(3, kBig).run();
    insert->reset();
    insert->bind(1, 2).bind_null(2).bind(3, kSmall).run();
    insert->reset();
    insert->bind(1, 3).bind(2, std::optional<std::string>()).bind(3, std::optional<std::int64_t>()).run();
  }
  Query q(*c_, "SELECT id, name, at FROM t ORDER BY id");
  ASSERT_TRUE(q->step());
  EXPECT_EQ(q->integer(0), 1);
  EXPECT_EQ(q->text(1), "Ärger ' \"quoted\"");
  EXPECT_EQ(q->integer(2), kBig);
  ASSERT_TRUE(q->step());
  EXPECT_TRUE(q->is_null(1));
  EXPECT_EQ(q->text(1), "");
  EXPECT_EQ(q->integer(2), kSmall);
  ASSERT_TRUE(q->step());
  EXPECT_TRUE(q->is_null(2));
  EXPECT_EQ(q->integer(2), 0);
  EXPECT_FALSE(q->is_null(0));
  EXPECT_FALSE(q->step());
  EXPECT_FALSE(q->step());
}

TEST_F(PostgresTest, IntegerBindsWorkInComparisonsAndLimits) {
  c_->exec("CREATE TABLE t (id TEXT PRIMARY KEY, created_at BIGINT NOT NULL, active BIGINT NOT NULL)");
  {
    Query insert(*c_, "INSERT INTO t (id, created_at, active) VALUES (?, ?, ?)");
    for (int i = 0; i < 10; ++i) {
      insert->bind(1, fmt::format("id{}", i)).bind(2, std::int64_t{1'700'000'000'000} + i).bind(3, i % 2 == 0).run();
      insert->reset();
    }
  }
  Query q(
      *c_,
      "SELECT id, active = 1, COUNT(*) OVER () FROM t WHERE created_at > ? AND id > ? ORDER BY id LIMIT ? OFFSET ?");
  q->bind(1, std::int64_t{1'700'000'000'002}).bind(2, "id4").bind(3, 2).bind(4, 1);
  ASSERT_TRUE(q->step());
  EXPECT_EQ(q->text(0), "id6");
  EXPECT_EQ(q->integer(1), 1);  // a boolean reads as 1 or 0
  EXPECT_EQ(q->integer(2), 5);
  ASSERT_TRUE(q->step());
  EXPECT_EQ(q->text(0), "id7");
  EXPECT_EQ(q->integer(1), 0);
  EXPECT_FALSE(q->step());
}

TEST_F(PostgresTest, CachedStatementRunsManyTimesWithDifferentBinds) {
  c_->exec("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, expires_at BIGINT)");
  for (int i = 0; i < 200; ++i) {
    Query insert(*c_, "INSERT INTO t (id, name, expires_at) VALUES (?, ?, ?)");
    insert->bind(1, i).bind(2, fmt::format("n{}", i));
    // The first run binds NULL where later runs bind integers.
    if (i % 3 == 0) {
      insert->bind_null(3);
    } else {
      insert->bind(3, (std::int64_t{1} << 40) | i);
    }
    insert->run();
  }
  EXPECT_EQ(count(*c_, "SELECT COUNT(*) FROM t"), 200);
  EXPECT_EQ(count(*c_, "SELECT COUNT(*) FROM t WHERE expires_at IS NULL"), 67);
  for (int i = 0; i < 200; i += 37) {
    Query q(*c_, "SELECT name, expires_at FROM t WHERE id = ?");
    q->bind(1, i);
    ASSERT_TRUE(q->step());
    EXPECT_EQ(q->text(0), fmt::format("n{}", i));
    EXPECT_EQ(q->integer(1), i % 3 == 0 ? 0 : ((std::int64_t{1} << 40) | i));
  }
}

TEST_F(PostgresTest, CachedStatementFirstRunWithNullTakesTheTypeOfLaterBinds) {
  // Prepared with an untyped NULL, $1 would be inferred as an integer (32 bits) from the 7.
  const std::int64_t big = std::int64_t{1} << 40;
  for (const auto& value : {std::optional<std::int64_t>(), std::optional<std::int64_t>(big),
                            std::optional<std::int64_t>(), std::optional<std::int64_t>(5)}) {
    Query q(*c_, "SELECT COALESCE(?, 7) + 1");
    q->bind(1, value);
    ASSERT_TRUE(q->step());
    EXPECT_EQ(q->integer(0), value.value_or(7) + 1);
  }
}

TEST_F(PostgresTest, ChangesCountsTheRowsOfTheLastWrite) {
  c_->exec("CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)");
  c_->exec("INSERT INTO t VALUES (1, 0), (2, 0), (3, 1)");
  EXPECT_EQ(c_->changes(), 3);
  Query(*c_, "UPDATE t SET v = v + 1 WHERE v = ?")->bind(1, 0).run();
  EXPECT_EQ(c_->changes(), 2);
  EXPECT_EQ(count(*c_, "SELECT COUNT(*) FROM t"), 3);
  EXPECT_EQ(c_->changes(), 2);  // reads do not count, as in SQLite
  Query(*c_, "DELETE FROM t WHERE id = ?")->bind(1, 42).run();
  EXPECT_EQ(c_->changes(), 0);
  Query(*c_, "INSERT INTO t VALUES (?, 0) ON CONFLICT (id) DO NOTHING")->bind(1, 1).run();
  EXPECT_EQ(c_->changes(), 0);
}

TEST_F(PostgresTest, UniqueViolationIsAConflict) {
  c_->exec(
      "CREATE TABLE users (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, email TEXT NOT NULL, UNIQUE (org_id, email))");
  Query insert(*c_, "INSERT INTO users (id, org_id, email) VALUES (?, ?, ?)");
  insert->bind(1, "u1").bind(2, "o").bind(3, "a@example.com").run();
  insert->reset();
  insert->bind(1, "u2").bind(2, "o").bind(3, "a@example.com");
  try {
    insert->run();
    FAIL() << "a duplicate was inserted";
  } catch (const ConflictError& e) {
    EXPECT_EQ(e.constraint(), "users_org_id_email_key");
  }
}

TEST_F(PostgresTest, SavepointRollbackKeepsTheTransactionUsable) {
  c_->exec("CREATE TABLE t (id BIGINT PRIMARY KEY)");
  // As the store's batches do: every control statement prepared once, each write in a savepoint.
  auto run = [&](std::string_view sql) { Query(*c_, sql)->run(); };
  auto insert = [&](int id) { Query(*c_, "INSERT INTO t (id) VALUES (?)")->bind(1, id).run(); };
  for (int round = 0; round < 3; ++round) {
    c_->exec("DELETE FROM t");
    run("BEGIN");
    run("SAVEPOINT w");
    insert(1);
    run("RELEASE w");
    run("SAVEPOINT w");
    EXPECT_THROW(insert(1), ConflictError);
    run("ROLLBACK TO w");
    run("RELEASE w");
    run("SAVEPOINT w");
    EXPECT_THROW(run("SELECT no_such_column FROM t"), std::runtime_error);
    run("ROLLBACK TO w");
    run("RELEASE w");
    run("SAVEPOINT w");
    insert(2);
    run("RELEASE w");
    run("COMMIT");
    EXPECT_EQ(count(*c_, "SELECT COUNT(*) FROM t"), 2);
  }
}

// The batch's savepoints as the store opens them (PgBackend::next_savepoint): deferred, and sent
// in one round trip with the write's first statement.
TEST_F(PostgresTest, DeferredSavepointsIsolateEachWriteOfABatch) {
  c_->exec("CREATE TABLE t (id BIGINT PRIMARY KEY)");
  auto insert = [&](int id) { Query(*c_, "INSERT INTO t (id) VALUES (?)")->bind(1, id).run(); };
  for (int round = 0; round < 3; ++round) {
    c_->exec("DELETE FROM t");
    c_->exec("BEGIN");
    backend_->next_savepoint(*c_, false);
    insert(1);
    backend_->next_savepoint(*c_, true);
    EXPECT_THROW(insert(1), ConflictError);  // the statement's error, not a savepoint's
    Query(*c_, "ROLLBACK TO w")->run();
    backend_->next_savepoint(*c_, true);
    insert(2);
    insert(3);
    backend_->next_savepoint(*c_, true);
    insert(4);
    Query(*c_, "ROLLBACK TO w")->run();   // undoes 4 only
    backend_->next_savepoint(*c_, true);  // a write that ran no statement
    backend_->next_savepoint(*c_, true);
    EXPECT_EQ(count(*c_, "SELECT COUNT(*) FROM t"), 3);  // an uncached statement sends them too
    Query(*c_, "COMMIT")->run();
    EXPECT_EQ(count(*c_, "SELECT COUNT(*) FROM t"), 3);
    EXPECT_EQ(count(*c_, "SELECT SUM(id) FROM t"), 6);
    EXPECT_FALSE(c_->broken());
  }
}

TEST_F(PostgresTest, ADeferredCommandThatFailsFailsTheNextStatementAndRunsNothingAfterIt) {
  auto& pg = static_cast<ok::store::postgres::PgConnection&>(*c_);
  c_->exec("CREATE TABLE t (id BIGINT PRIMARY KEY)");
  c_->exec("BEGIN");
  pg.defer("RELEASE no_such_savepoint");
  try {
    Query(*c_, "INSERT INTO t (id) VALUES (?)")->bind(1, 1).run();
    FAIL() << "the deferred command's error was lost";
  } catch (const ConflictError&) {
    FAIL() << "reported as a conflict";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("3B001"), std::string::npos) << e.what();  // no such savepoint
  }
  pg.defer("SAVEPOINT w");
  c_->exec("ROLLBACK");  // drops what is deferred: the aborted transaction would refuse it
  EXPECT_EQ(count(*c_, "SELECT COUNT(*) FROM t"), 0);
  EXPECT_FALSE(c_->broken());
  // Outside a pipeline again: exec() sends deferred commands ahead of its own, in one query.
  pg.defer("BEGIN");
  c_->exec("INSERT INTO t (id) VALUES (7)");
  c_->exec("ROLLBACK");
  EXPECT_EQ(count(*c_, "SELECT COUNT(*) FROM t"), 0);
}

TEST_F(PostgresTest, AConnectionKilledWithCommandsDeferredIsUnavailableAndBroken) {
  const auto pid = count(*c_, "SELECT pg_backend_pid()");
  c_->exec("BEGIN");
  backend_->next_savepoint(*c_, false);
  EXPECT_EQ(count(*admin_, fmt::format("SELECT pg_terminate_backend({}, 5000)::int", pid)), 1);
  EXPECT_THROW(Query(*c_, "SELECT 1")->run(), UnavailableError);
  EXPECT_TRUE(c_->broken());
}

TEST_F(PostgresTest, StatementErrorOutsideSavepointsIsAnErrorAndRollsBack) {
  c_->exec("CREATE TABLE t (id BIGINT PRIMARY KEY)");
  try {
    Query(*c_, "SELEKT 1")->run();
    FAIL() << "bad SQL ran";
  } catch (const UnavailableError&) {
    FAIL() << "a bug reported as unavailability";
  } catch (const ConflictError&) {
    FAIL() << "a bug reported as a conflict";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("42601"), std::string::npos) << e.what();
  }
  EXPECT_EQ(count(*c_, "SELECT 1"), 1);  // outside a transaction nothing stays broken

  c_->exec("BEGIN");
  Query(*c_, "INSERT INTO t (id) VALUES (?)")->bind(1, 1).run();
  EXPECT_THROW(Query(*c_, "SELECT 1 / (id - 1) FROM t")->run(), std::runtime_error);
  // The transaction is aborted: nothing runs until it ends.
  EXPECT_THROW(count(*c_, "SELECT COUNT(*) FROM t"), std::runtime_error);
  c_->exec("ROLLBACK");
  EXPECT_EQ(count(*c_, "SELECT COUNT(*) FROM t"), 0);
  EXPECT_FALSE(c_->broken());
}

TEST_F(PostgresTest, MigrationsApplyOnceAndBuildTheSchema) {
  EXPECT_EQ(backend_->schema_version(*c_), 0);
  const auto latest = static_cast<int>(ok::store::postgres::pg_migrations().size());
  EXPECT_EQ(backend_->apply_migrations(*c_), latest);
  EXPECT_EQ(backend_->schema_version(*c_), latest);
  EXPECT_EQ(backend_->apply_migrations(*c_), 0);
  EXPECT_EQ(backend_->schema_version(*c_), latest);
  EXPECT_EQ(count(*c_, "SELECT COUNT(*) FROM schema_migrations"), latest);

  // What the store relies on beyond the columns: the counts trigger, sequence numbers, cascades.
  c_->exec("INSERT INTO organizations (id, name, created_at, updated_at) VALUES ('o', 'Org', 1, 1)");
  {
    Query insert(*c_,
                 "INSERT INTO control_planes (id, org_id, name, cluster_type, auth_type, created_at, updated_at) "
                 "VALUES (?, 'o', ?, 'CLUSTER_TYPE_HYBRID', 'pinned_client_certs', ?, ?)");
    for (int i = 0; i < 3; ++i) {
      insert->bind(1, fmt::format("cp{}", i)).bind(2, fmt::format("name {}", i));
      insert->bind(3, std::int64_t{1'700'000'000'000}).bind(4, std::int64_t{1'700'000'000'000}).run();
      insert->reset();
    }
    insert->bind(1, "cp9").bind(2, "name 0").bind(3, 1).bind(4, 1);
    EXPECT_THROW(insert->run(), ConflictError);
  }
  EXPECT_EQ(count(*c_, "SELECT total FROM control_plane_counts WHERE org_id = 'o'"), 3);
  EXPECT_EQ(count(*c_, "SELECT seq FROM control_planes WHERE id = 'cp2'"), 3);
  c_->exec("DELETE FROM control_planes WHERE id = 'cp0'");
  EXPECT_EQ(count(*c_, "SELECT total FROM control_plane_counts WHERE org_id = 'o'"), 2);
  c_->exec("DELETE FROM organizations WHERE id = 'o'");
  EXPECT_EQ(count(*c_, "SELECT COUNT(*) FROM control_planes"), 0);
  EXPECT_EQ(count(*c_, "SELECT total FROM control_plane_counts WHERE org_id = 'o'"), 0);
}

TEST_F(PostgresTest, ConcurrentMigrationsBothSucceed) {
  std::atomic<int> applied = 0;
  std::atomic<int> failed = 0;
  auto migrate = [&] {
    try {
      auto c = backend_->connect();
      applied += backend_->apply_migrations(*c);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      ++failed;
    }
  };
  std::thread a(migrate);
  std::thread b(migrate);
  a.join();
  b.join();
  EXPECT_EQ(failed, 0);
  const auto latest = static_cast<int>(ok::store::postgres::pg_migrations().size());
  EXPECT_EQ(applied, latest);  // each migration once, by one of the two
  EXPECT_EQ(backend_->schema_version(*c_), latest);
}

TEST_F(PostgresTest, BatchesOfTwoConnectionsRunOneAfterTheOther) {
  auto other = backend_->connect();
  backend_->begin_batch(*c_);
  std::atomic<bool> entered = false;
  std::thread second([&] {
    backend_->begin_batch(*other);
    entered = true;
    other->exec("COMMIT");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(entered) << "a second batch began while the first was open";
  c_->exec("COMMIT");
  second.join();
  EXPECT_TRUE(entered);
}

TEST_F(PostgresTest, KilledConnectionIsUnavailableAndBroken) {
  const auto pid = count(*c_, "SELECT pg_backend_pid()");
  EXPECT_FALSE(c_->broken());
  EXPECT_EQ(count(*admin_, fmt::format("SELECT pg_terminate_backend({}, 5000)::int", pid)), 1);
  EXPECT_THROW(Query(*c_, "SELECT 1")->run(), UnavailableError);
  EXPECT_TRUE(c_->broken());
  EXPECT_THROW(c_->exec("SELECT 1"), UnavailableError);
}

TEST_F(PostgresTest, ClosedPortIsUnavailableWithoutThePassword) {
  // Port 1 on the loopback: nothing listens there.
  try {
    ok::store::postgres::PgConnection("postgres://admin:s3cret-pw@127.0.0.1:1/openkonnect?connect_timeout=5");
    FAIL() << "connected to a closed port";
  } catch (const UnavailableError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find("s3cret-pw"), std::string::npos) << message;
    EXPECT_NE(message.find("127.0.0.1:1/openkonnect"), std::string::npos) << message;
  }
}

TEST_F(PostgresTest, DialectSqlReadsJsonAndFoldsCase) {
  const auto& d = c_->dialect();
  c_->exec("CREATE TABLE e (id BIGINT PRIMARY KEY, body TEXT NOT NULL)");
  Query insert(*c_, "INSERT INTO e (id, body) VALUES (?, ?)");
  insert->bind(1, 1).bind(2, R"({"name":"ÄB Gateway","port":8000,"on":true,"tags":["x"]})").run();
  insert->reset();
  insert->bind(1, 2).bind(2, R"({"name":"other"})").run();

  Query q(*c_, fmt::format("SELECT {}, {}, {}, {}, {} FROM e WHERE id = 1", d.json_member("body", "'name'"),
                           d.json_member("e.body", "?"), d.casefold(d.json_member("body", "'name'")),
                           d.position(d.casefold("body"), d.casefold("?")), d.json_member("body", "'missing'")));
  q->bind(1, "port").bind(2, "GATEWAY");
  ASSERT_TRUE(q->step());
  EXPECT_EQ(q->text(0), "ÄB Gateway");
  EXPECT_EQ(q->integer(1), 8000);
  EXPECT_EQ(q->text(2), "äb gateway");
  EXPECT_GT(q->integer(3), 0);
  EXPECT_TRUE(q->is_null(4));

  Query filter(*c_, fmt::format("SELECT id FROM e WHERE {} = ? AND {} > 0", d.json_member("body", "?"),
                                d.position(d.casefold(d.json_member("body", "'name'")), d.casefold("?"))));
  filter->bind(1, "on").bind(2, "true").bind(3, "äB g");
  ASSERT_TRUE(filter->step());
  EXPECT_EQ(filter->integer(0), 1);
  EXPECT_FALSE(filter->step());

  Query position(*c_, fmt::format("SELECT {}, {}", d.position("'openkonnect'", "?"), d.position("?", "'z'")));
  position->bind(1, "konnect").bind(2, "abc");
  ASSERT_TRUE(position->step());
  EXPECT_EQ(position->integer(0), 5);
  EXPECT_EQ(position->integer(1), 0);
  EXPECT_EQ(d.control_plane_name_prefilter(), "");
}

}  // namespace
