#include "audit/journal.hpp"

#include "temp_store.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
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
  Journal journal(*store_, options(4096));  // a new file after about a hundred records
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) journal.append(record(t * 10000 + i));
    });
  }
  std::size_t ingested = 0;
  for (int pass = 0; pass < 50; ++pass) ingested += journal.ingest();
  for (auto& w : writers) w.join();
  ingested += journal.ingest();
  ingested += journal.ingest();
  EXPECT_EQ(ingested, 4000u);
  EXPECT_EQ(journal_files(), 1u);  // only the current one
  const auto records = stored();
  ASSERT_EQ(records.size(), 4000u);
  // Each writer's records in the order it wrote them.
  std::vector<int> last(4, -1);
  for (const auto& r : records) {
    const int n = std::stoi(r.entry.substr(1));
    EXPECT_GT(n % 10000, last[n / 10000]);
    last[n / 10000] = n % 10000;
  }
}

// A slot as journal.hpp lays it out, published (or not: its writer died before the magic).
std::string slot(std::string_view payload, bool published = true) {
  std::string out(8, '\0');
  const std::uint32_t magic = published ? ok::audit::kSlotMagic : 0, length = payload.size();
  std::memcpy(out.data(), &magic, 4);
  std::memcpy(out.data() + 4, &length, 4);
  out += payload;
  out.resize((out.size() + 7) / 8 * 8, '\0');
  return out;
}

TEST_F(AuditJournalTest, AFileItsWriterAbandonedIsStoredByTheNextProcessHalfWrittenSlotsAndAll) {
  fs::create_directories(dir_ / "journal");
  const auto abandoned = dir_ / "journal" / "00000000-dead-4000-8000-000000000000-000000.journal";
  {
    std::ofstream out(abandoned, std::ios::binary);
    out << slot(kAcme + "\t1000\t[\"a\"]")
        << slot(kAcme + "\t1001\t[\"never finished\"]", false)          // its writer died in the middle
        << slot(kAcme + "\t1002\t[\"b\"]") << std::string(4096, '\0');  // the rest of the file
  }
  // A file whose writer is alive (it holds the lock) is left alone.
  const auto alive = dir_ / "journal" / "00000000-a1fe-4000-8000-000000000000-000000.journal";
  { std::ofstream(alive, std::ios::binary) << slot(kAcme + "\t2000\t[\"c\"]"); }
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
  EXPECT_EQ(records[1].entry, "[\"b\"]");
  EXPECT_EQ(records[2].entry, "[\"c\"]");
}

TEST_F(AuditJournalTest, AnEncodedEntryIsStoredAsEncodeWritesIt) {
  Journal journal(*store_, options());
  ok::audit::Entry entry;
  entry.org_id = kAcme;
  entry.ts_ms = 1234;
  entry.user_agent = "bytes \xff\xfe that are not UTF-8";
  entry.trace_id = 42;
  journal.append(entry.org_id, entry.ts_ms, ok::audit::view_of(entry));
  EXPECT_EQ(journal.ingest(), 1u);
  const auto records = stored();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].ts_ms, 1234);
  const auto back = ok::audit::decode(records[0].entry, records[0].org_id, records[0].ts_ms);
  EXPECT_EQ(back.trace_id, 42u);
  EXPECT_EQ(back.user_agent, "bytes \xef\xbf\xbd\xef\xbf\xbd that are not UTF-8");  // U+FFFD each
}

ok::audit::Entry change(unsigned status, std::string entity = "") {
  ok::audit::Entry e;
  e.org_id = kAcme;
  e.ts_ms = 5000;
  e.method = "POST";
  e.status = status;
  e.trace_id = 77;
  e.entity_id = std::move(entity);
  return e;
}

TEST_F(AuditJournalTest, AChangesRecordIsBegunFirstAndWhatFollowsWaitsForItsAnswer) {
  Journal journal(*store_, options());
  const auto begun = change(0);
  auto intent = journal.begin(kAcme, begun.ts_ms, ok::audit::view_of(begun));
  journal.append(record(1));        // a later request, answered first
  EXPECT_EQ(journal.ingest(), 0u);  // nothing passes the change still running
  const auto done = change(201, "11111111-2222-4333-8444-555555555555");
  journal.complete(intent, kAcme, done.ts_ms, ok::audit::view_of(done));
  EXPECT_FALSE(intent);
  EXPECT_EQ(journal.ingest(), 2u);
  const auto records = stored();
  ASSERT_EQ(records.size(), 2u);
  const auto first = ok::audit::decode(records[0].entry, records[0].org_id, records[0].ts_ms);
  EXPECT_EQ(first.status, 201u);
  EXPECT_EQ(first.entity_id, "11111111-2222-4333-8444-555555555555");
  EXPECT_EQ(records[1].entry, "[1]");
}

TEST_F(AuditJournalTest, AChangesRecordDroppedUnansweredOrTooLargeForItsSlotIsStoredOnce) {
  Journal journal(*store_, options());
  const auto begun = change(0);
  { auto dropped = journal.begin(kAcme, begun.ts_ms, ok::audit::view_of(begun)); }  // no answer recorded
  auto intent = journal.begin(kAcme, begun.ts_ms, ok::audit::view_of(begun));
  auto big = change(200);
  big.user_agent = std::string(1000, 'u');  // longer than the room the begun record left
  journal.complete(intent, kAcme, big.ts_ms, ok::audit::view_of(big));
  EXPECT_EQ(journal.ingest(), 2u);
  const auto records = stored();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(ok::audit::decode(records[0].entry, kAcme, 0).status, 0u);
  const auto second = ok::audit::decode(records[1].entry, kAcme, 0);
  EXPECT_EQ(second.status, 200u);
  EXPECT_EQ(second.user_agent.size(), 1000u);
}

TEST_F(AuditJournalTest, AChangesRecordBegunByAProcessThatDiedIsStoredWithStatusZero) {
  const auto begun = change(0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Begins a change's record and dies before the answer (no destructor runs after _exit).
    Journal journal(*store_, options());
    auto intent = journal.begin(kAcme, begun.ts_ms, ok::audit::view_of(begun));
    journal.append(record(2));
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  Journal journal(*store_, options());
  EXPECT_EQ(journal.ingest(), 2u);
  const auto records = stored();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(ok::audit::decode(records[0].entry, kAcme, 0).status, 0u);
  EXPECT_EQ(ok::audit::decode(records[0].entry, kAcme, 0).trace_id, 77u);
  EXPECT_EQ(records[1].entry, "[2]");
  EXPECT_EQ(journal_files(), 1u);  // the dead process's file, stored, is gone
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
