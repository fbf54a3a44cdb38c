#pragma once
// The audit journal: where each request's audit record is written before its answer leaves,
// and from where a background thread stores records in the database in large transactions.
//
// Why not the database directly: holding every answer until its record's commit costs a
// commit round trip on the request path, and at 64 connections that wait alone took a third
// of the authenticated reads per second (docs/BENCHMARKS.md). Why not write(): appends from
// several threads to one file serialize on its inode lock, and the system call was most of
// what auditing cost a request. So each file is mapped into memory (MAP_SHARED): a record is a
// copy into the page cache, which survives a crash of openkonnect (SIGKILL included) as a
// write() would, though not a power cut until it reaches the database (docs/AUDIT.md). The
// journal is read into the database every `ingest_every`, and the position read to is stored
// in the same transaction as the records, so a restart neither loses nor repeats one.
//
// Files: <node>-<generation>.journal in the directory, each `rotate_bytes` long (disk blocks
// allocated a MiB at a time, ahead of the writers) and held under flock() by the process
// writing it. A file no live process holds
// (its writer crashed) is read by the next process to look, then deleted: nodes of one
// database may share the directory.
//
// A file is a sequence of slots, each at a multiple of 8 bytes:
//   u32 kSlotMagic | u32 payload length | payload | zero padding to a multiple of 8
// with the payload "org_id TAB ts_ms TAB entry" (audit::encode's JSON, always UTF-8). A writer
// reserves a slot (an atomic add), copies the length and the payload, and publishes the slot by
// storing the magic last. A reader of the live file stops at the first slot not yet published;
// in a file whose writer is gone, a slot never published (its writer died in the middle) is
// skipped by looking for the next magic, which never occurs inside a payload (its bytes are
// not UTF-8).
//
// A change (a POST, PUT, PATCH or DELETE) has its record begun before its handler runs, so that
// no change exists without a record even if the process dies between the change's commit and
// its answer. Its slot holds the record as known then (status 0) and room for the final one:
//   u32 kIntentMagic | u32 length | payload (status 0), padded | u32 result length |
//   u32 result capacity | result payload, padded
// complete() writes the result and then stores kCompletedMagic. A reader of a live process's
// file waits at an intent; in a file whose writer is gone, an intent is the record (status 0:
// the server stopped before answering). A result length of kUseIntent means the intent stands
// (the request ended without an answer to record); 0, that the record went to a slot of its own.

#include "audit/entry.hpp"
#include "store/store.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ok::audit {

inline constexpr std::uint32_t kSlotMagic = 0xA5C3F00DU;       // a record; bytes 0D F0 C3 A5: not UTF-8
inline constexpr std::uint32_t kIntentMagic = 0xA5C3F10DU;     // a change's record, begun
inline constexpr std::uint32_t kCompletedMagic = 0xA5C3F20DU;  // a change's record, finished

struct JournalOptions {
  std::filesystem::path directory;
  std::chrono::milliseconds ingest_every{100};
  std::size_t rotate_bytes = 16 * 1024 * 1024;  // each file's size: a new one when it is full
  std::size_t records_per_transaction = 20'000;
};

class Journal {
  struct File;

 public:
  static constexpr std::uint32_t kUseIntent = 0xFFFFFFFFU;

  // A change's record, begun: complete() it with the answer. Dropped without that, the record
  // stands as begun (status 0), so that a reader never waits for it forever.
  class Intent {
   public:
    Intent() = default;
    Intent(Intent&& other) noexcept { *this = std::move(other); }
    Intent& operator=(Intent&& other) noexcept;
    Intent(const Intent&) = delete;
    Intent& operator=(const Intent&) = delete;
    ~Intent();
    explicit operator bool() const { return file_ != nullptr; }

   private:
    friend class Journal;
    void finish(std::uint32_t result_length);
    std::shared_ptr<File> file_;
    char* slot_ = nullptr;
    char* result_ = nullptr;  // result length, capacity, payload
    std::size_t capacity_ = 0;
  };

  // Creates the directory if needed and opens this process's first file. Throws
  // std::runtime_error when it cannot.
  Journal(store::Store& store, JournalOptions options);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Appends one record (its seq is given when stored). Throws std::runtime_error when it
  // cannot be written (no room on the disk): then the request must not be answered as done.
  void append(std::string_view org_id, std::int64_t ts_ms, const EntryView& entry);
  // The same for a record already encoded (`entry` as audit::encode writes it).
  void append(const store::AuditRecord& record);
  // Begins a change's record (the entry as known before the change runs). Throws as append().
  Intent begin(std::string_view org_id, std::int64_t ts_ms, const EntryView& entry);
  // Finishes it with the entry of the answer. Throws as append(); the begun record stands then.
  void complete(Intent& intent, std::string_view org_id, std::int64_t ts_ms, const EntryView& entry);

  void start();
  // Stops the thread and stores everything written so far.
  void stop();

  // Stores what has been written and not stored yet (this process's files and any abandoned
  // ones); returns how many records. The thread calls it; so do tests.
  std::size_t ingest();

  const std::filesystem::path& directory() const { return options_.directory; }

 private:
  std::shared_ptr<File> open_file(std::uint64_t generation);
  // Reserves `need` bytes in the current file (a new file when it is full).
  char* reserve(std::size_t need, std::shared_ptr<File>& file);
  void write_payload(std::string_view payload);
  // Stores the file's records from where it was read to; `finished`: no slot will be added,
  // `writer_alive`: this process writes it (an intent is waited for, not stored). Returns how
  // many records; file.read_to says where it stopped, file.done whether at its end.
  std::size_t ingest_file(File& file, bool finished, bool writer_alive);
  static void release_read_pages(File& file);
  static void populate_ahead(File& file, std::size_t ahead);
  // Allocates disk blocks for the file up to at least `upto`; false (errno set) when it cannot.
  static bool extend(File& file, std::size_t upto);
  void loop();

  store::Store& store_;
  JournalOptions options_;
  std::string node_;
  std::uint64_t generation_ = 0;
  std::shared_mutex current_mutex_;  // shared: an append; exclusive: a rotation
  std::shared_ptr<File> current_;
  std::mutex ingest_mutex_;  // one ingest() at a time
  std::mutex finished_mutex_;
  std::vector<std::shared_ptr<File>> finished_;  // this process's full files not yet stored

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ok::audit
