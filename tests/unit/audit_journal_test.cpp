#include "audit/journal.hpp"

#include "temp_store.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ok::audit::Journal;
using ok::audit::JournalOptions;
using ok::store::AuditRecord;
using ok::store::OrgId;

const std::string kAcme = "11111111-1111-4111-8111-111111111111";

class AuditJournalTest : public ::testing::Test {
 protected:
  JournalOptions options(std::size_t rotate_bytes = 16 * 1024 * 1024) const {
    return {.directory = dir_ / "journal", .rotate_bytes = rotate_bytes};
  }
  static AuditRecord record(int i) {
    return {.org_id = kAcme, .ts_ms = 1000 + i, .entry = "[" + std::to_string(i) + "]"};
  }
  std::vector<AuditRecord> stored() { return store_->audit().records_after(OrgId(kAcme), 0, 100'000); }
  std::size_t journal_files() const {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_ / "journal")) n += e.path().extension() == ".journal";
    return n;
  }

  ok::test_support::TempStore store_;
  const fs::path& dir_ = store_.dir();
};

TEST_F(AuditJournalTest, WhatIsAppendedIsStoredOnceInOrder) {
  Journal journal(*store_, options());
  for (int i = 0; i < 5; ++i) journal.append(record(i));
  EXPECT_EQ(journal.ingest(), 5u);
  EXPECT_EQ(journal.ingest(), 0u);  // read to its end: nothing again
  journal.append(record(5));
  EXPECT_EQ(journal.ingest(), 1u);
  const auto records = stored();
  ASSERT_EQ(records.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(records[i].entry, "[" + std::to_string(i) + "]");
    EXPECT_EQ(records[i].ts_ms, 1000 + i);
  }
  journal.stop();
  EXPECT_EQ(journal_files(), 0u);  // stored to its end at stop: deleted
  EXPECT_THROW(journal.append(record(6)), std::runtime_error);
}

TEST_F(AuditJournalTest, ARotatedFileIsStoredThenDeletedAndNothingIsLostAcrossRotations) {
  Journal journal(*store_, options(64));  // a new file after about every other record
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) journal.append(record(t * 1000 + i));
    });
  }
  std::size_t ingested = 0;
  for (int pass = 0; pass < 50; ++pass) ingested += journal.ingest();
  for (auto& w : writers) w.join();
  ingested += journal.ingest();
  ingested += journal.ingest();
  EXPECT_EQ(ingested, 800u);
  EXPECT_EQ(journal_files(), 1u);  // only the current one
  const auto records = stored();
  ASSERT_EQ(records.size(), 800u);
  // Each writer's records in the order it wrote them.
  std::vector<int> last(4, -1);
  for (const auto& r : records) {
    const int n = std::stoi(r.entry.substr(1));
    EXPECT_GT(n % 1000, last[n / 1000]);
    last[n / 1000] = n % 1000;
  }
}

TEST_F(AuditJournalTest, AFileItsWriterAbandonedIsStoredByTheNextProcessTornLastLineAndAll) {
  fs::create_directories(dir_ / "journal");
  const auto abandoned = dir_ / "journal" / "00000000-dead-4000-8000-000000000000-000000.journal";
  {
    std::ofstream out(abandoned);
    out << kAcme << "\t1000\t[\"a\"]\n" << kAcme << "\t1001\t[\"b\"]\n" << kAcme << "\t10";  // died mid-line
  }
  // A file whose writer is alive (it holds the lock) is left alone.
  const auto alive = dir_ / "journal" / "00000000-a1fe-4000-8000-000000000000-000000.journal";
  { std::ofstream(alive) << kAcme << "\t2000\t[\"c\"]\n"; }
  const int held = ::open(alive.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_EX | LOCK_NB), 0);

  Journal journal(*store_, options());
  EXPECT_EQ(journal.ingest(), 2u);
  EXPECT_FALSE(fs::exists(abandoned));
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_EQ(store_->audit().journal_read_to(abandoned.filename().string()), 0);  // forgotten once deleted

  ::close(held);  // its writer dies
  EXPECT_EQ(journal.ingest(), 1u);
  EXPECT_FALSE(fs::exists(alive));
  const auto records = stored();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].entry, "[\"a\"]");
  EXPECT_EQ(records[2].entry, "[\"c\"]");
}

TEST_F(AuditJournalTest, AStoppedJournalsRecordsAreAllStoredAndAStartedOneStoresOnItsOwn) {
  {
    Journal journal(*store_, options());
    journal.start();
    for (int i = 0; i < 100; ++i) journal.append(record(i));
    for (int wait = 0; wait < 500 && stored().size() < 100; ++wait) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(stored().size(), 100u);
    journal.append(record(100));
  }  // destroyed: stopped, stores the rest
  EXPECT_EQ(stored().size(), 101u);
}

}  // namespace
