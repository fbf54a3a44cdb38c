#pragma once
// The audit journal: where each request's audit record is written before its answer leaves,
// and from where a background thread stores records in the database in large transactions.
//
// Why not the database directly: holding every answer until its record's commit costs a
// commit round trip on the request path, and at 64 connections that wait alone took a third
// of the authenticated reads per second (docs/BENCHMARKS.md). One append to a file, with no
// thread hop, costs a system call. A line written is in the kernel's cache when write()
// returns, so it survives a crash of openkonnect (SIGKILL included), though not a power cut
// until it reaches the database (docs/AUDIT.md); the journal is read into the database every
// `ingest_every`, and the position read to is stored in the same transaction as the records,
// so a restart neither loses nor repeats one.
//
// Files: <node>-<generation>.journal in the directory, each held under flock() by the process
// writing it. A file no live process holds (its writer crashed) is read to its end by the
// next process to look, then deleted: nodes of one database may share the directory.

#include "store/store.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

namespace ok::audit {

struct JournalOptions {
  std::filesystem::path directory;
  std::chrono::milliseconds ingest_every{100};
  std::size_t rotate_bytes = 16 * 1024 * 1024;  // a new file once the current one is this big
  std::size_t records_per_transaction = 20'000;
};

class Journal {
 public:
  // Creates the directory if needed and opens this process's first file. Throws
  // std::runtime_error when it cannot.
  Journal(store::Store& store, JournalOptions options);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Appends one record (its seq is given when stored). Throws std::runtime_error when the
  // line cannot be written whole (disk full): then the request must not be answered as done.
  void append(const store::AuditRecord& record);

  void start();
  // Stops the thread and stores everything written so far.
  void stop();

  // Stores what has been written and not stored yet (this process's files and any abandoned
  // ones); returns how many records. The thread calls it; so do tests.
  std::size_t ingest();

  const std::filesystem::path& directory() const { return options_.directory; }

 private:
  struct File;
  std::shared_ptr<File> open_file(std::uint64_t generation);
  std::size_t ingest_file(File& file, bool finished);
  void loop();

  store::Store& store_;
  JournalOptions options_;
  std::string node_;
  std::uint64_t generation_ = 0;
  std::shared_mutex current_mutex_;  // shared: append(); exclusive: a rotation
  std::shared_ptr<File> current_;
  std::mutex ingest_mutex_;                      // one ingest() at a time
  std::vector<std::shared_ptr<File>> finished_;  // this process's rotated files not yet deleted

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ok::audit
