#include "audit/journal.hpp"

#include "observability/log.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace ok::audit {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSuffix = ".journal";
constexpr std::size_t kHeader = 8;                    // magic, length
constexpr std::size_t kChunk = std::size_t{1} << 20;  // disk blocks are allocated this much at a time

std::size_t slot_size(std::size_t payload) { return kHeader + ((payload + 7) & ~std::size_t{7}); }

std::string errno_text() { return std::strerror(errno); }

void start_payload(std::string& payload, std::string_view org_id, std::int64_t ts_ms) {
  payload.clear();
  payload += org_id;
  payload += '\t';
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, ts_ms);
  payload.append(digits, end);
  payload += '\t';
}

std::optional<store::AuditRecord> parse_payload(std::string_view payload) {
  const auto first = payload.find('\t');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = payload.find('\t', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  store::AuditRecord r;
  r.org_id = std::string(payload.substr(0, first));
  const auto ts = payload.substr(first + 1, second - first - 1);
  if (std::from_chars(ts.data(), ts.data() + ts.size(), r.ts_ms).ec != std::errc{}) return std::nullopt;
  r.entry = std::string(payload.substr(second + 1));
  if (r.entry.empty() || r.entry.front() != '[') return std::nullopt;
  return r;
}

std::uint32_t load_acquire(const char* at) {
  // The slot's first word, as the writer published it (release) in the shared mapping.
  return std::atomic_ref<const std::uint32_t>(*reinterpret_cast<const std::uint32_t*>(at))
      .load(std::memory_order_acquire);
}

}  // namespace

struct Journal::File {
  std::string name;  // in the directory
  fs::path path;
  int fd = -1;
  char* base = nullptr;
  std::size_t size = 0;
  std::atomic<std::size_t> tail{0};       // the next slot to reserve
  std::atomic<std::size_t> allocated{0};  // bytes with disk blocks: slots are reserved below it
  std::mutex extend_mutex;
  std::size_t read_to = 0;    // where ingest stopped (the ingest thread's)
  bool done = false;          // read to its end and deleted
  std::size_t released = 0;   // pages before this are no longer mapped in
  std::size_t populated = 0;  // pages before this were mapped in ahead of the writers

  std::string contents;  // a file of a process gone: read, not mapped
  ~File() {
    if (base && contents.empty()) ::munmap(base, size);
    if (fd >= 0) ::close(fd);  // releases the flock too
  }
  bool map(int prot) {
    void* p = ::mmap(nullptr, size, prot, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return false;
    base = static_cast<char*>(p);
    return true;
  }
};

Journal::Journal(store::Store& store, JournalOptions options)
    : store_(store), options_(std::move(options)), node_(util::new_uuid()) {
  options_.rotate_bytes = std::max<std::size_t>((options_.rotate_bytes + 7) & ~std::size_t{7}, 4096);
  std::error_code ec;
  fs::create_directories(options_.directory, ec);
  if (ec) {
    throw std::runtime_error(
        fmt::format("the audit journal directory {} cannot be made: {}", options_.directory.string(), ec.message()));
  }
  current_ = open_file(generation_);
}

Journal::~Journal() { stop(); }

std::shared_ptr<Journal::File> Journal::open_file(std::uint64_t generation) {
  auto file = std::make_shared<File>();
  file->name = fmt::format("{}-{:06}{}", node_, generation, kSuffix);
  file->path = options_.directory / file->name;
  file->size = options_.rotate_bytes;
  const auto fail = [&](std::string_view what) {
    const auto why = errno_text();
    std::error_code ignored;
    fs::remove(file->path, ignored);
    return std::runtime_error(fmt::format("the audit journal {} cannot be {}: {}", file->path.string(), what, why));
  };
  file->fd = ::open(file->path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (file->fd < 0) throw fail("created");
  if (::flock(file->fd, LOCK_EX | LOCK_NB) != 0) throw fail("locked");
  // Mapped whole, its disk blocks allocated a chunk at a time ahead of the writers: a write
  // into a page with no block would be a SIGBUS on a full disk, not an error.
  if (::ftruncate(file->fd, static_cast<off_t>(file->size)) != 0) throw fail("sized");
  if (!file->map(PROT_READ | PROT_WRITE)) throw fail("mapped");
  if (!extend(*file, kChunk)) throw fail("allocated");
  populate_ahead(*file, kChunk);
  return file;
}

bool Journal::extend(File& file, std::size_t upto) {
  std::lock_guard lock(file.extend_mutex);
  auto allocated = file.allocated.load(std::memory_order_relaxed);
  if (allocated >= upto) return true;
  const auto end = std::min(file.size, (upto + kChunk - 1) / kChunk * kChunk);
  if (const int err = ::posix_fallocate(file.fd, static_cast<off_t>(allocated), static_cast<off_t>(end - allocated));
      err != 0) {
    errno = err;
    return false;
  }
  file.allocated.store(end, std::memory_order_release);
  return true;
}

void Journal::append(std::string_view org_id, std::int64_t ts_ms, const EntryView& entry) {
  thread_local std::string payload;  // reused: a request allocates nothing here
  start_payload(payload, org_id, ts_ms);
  encode_into(payload, entry);
  write_payload(payload);
}

void Journal::append(const store::AuditRecord& record) {
  std::string payload;
  start_payload(payload, record.org_id, record.ts_ms);
  payload += record.entry;
  write_payload(payload);
}

char* Journal::reserve(std::size_t need, std::shared_ptr<File>& reserved_in) {
  if (need > options_.rotate_bytes / 2) throw std::runtime_error("an audit record too large for the journal");
  while (true) {
    std::shared_ptr<File> full;
    {
      std::shared_lock lock(current_mutex_);
      if (!current_) throw std::runtime_error("the audit journal is closed");
      auto& file = *current_;
      // Reserved only where blocks are allocated, so that no slot is left unwritten.
      auto at = file.tail.load(std::memory_order_relaxed);
      while (at + need <= file.size) {
        if (at + need > file.allocated.load(std::memory_order_acquire)) {
          if (!extend(file, at + need)) {
            throw std::runtime_error(
                fmt::format("the audit journal {} cannot grow: {}", file.path.string(), errno_text()));
          }
          continue;
        }
        if (file.tail.compare_exchange_weak(at, at + need, std::memory_order_relaxed)) {
          reserved_in = current_;
          return file.base + at;
        }
      }
      full = current_;
    }
    // Full: the first thread here opens the next file; the others find it done and retry.
    std::unique_lock exclusive(current_mutex_);
    if (current_ == full) {
      current_ = open_file(generation_ + 1);  // throws when there is no room: the request gets a 503
      ++generation_;
      std::lock_guard finished_lock(finished_mutex_);
      finished_.push_back(std::move(full));
    }
  }
}

namespace {

void publish(char* slot, std::uint32_t magic) {
  std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(slot)).store(magic, std::memory_order_release);
}

std::size_t padded(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

}  // namespace

void Journal::write_payload(std::string_view payload) {
  std::shared_ptr<File> file;
  char* slot = reserve(slot_size(payload.size()), file);
  const auto length = static_cast<std::uint32_t>(payload.size());
  std::memcpy(slot + 4, &length, 4);
  std::memcpy(slot + kHeader, payload.data(), payload.size());
  publish(slot, kSlotMagic);
}

Journal::Intent Journal::begin(std::string_view org_id, std::int64_t ts_ms, const EntryView& entry) {
  thread_local std::string payload;
  start_payload(payload, org_id, ts_ms);
  encode_into(payload, entry);
  // The answer changes the status and may name the entity made; the rest is the same.
  const auto capacity = padded(payload.size() + 128);
  Intent intent;
  intent.slot_ = reserve(kHeader + padded(payload.size()) + 8 + capacity, intent.file_);
  intent.result_ = intent.slot_ + kHeader + padded(payload.size());
  intent.capacity_ = capacity;
  const auto length = static_cast<std::uint32_t>(payload.size());
  const auto capacity32 = static_cast<std::uint32_t>(capacity);
  std::memcpy(intent.slot_ + 4, &length, 4);
  std::memcpy(intent.slot_ + kHeader, payload.data(), payload.size());
  std::memcpy(intent.result_ + 4, &capacity32, 4);
  publish(intent.slot_, kIntentMagic);
  return intent;
}

void Journal::complete(Intent& intent, std::string_view org_id, std::int64_t ts_ms, const EntryView& entry) {
  thread_local std::string payload;
  start_payload(payload, org_id, ts_ms);
  encode_into(payload, entry);
  if (payload.size() <= intent.capacity_) {
    std::memcpy(intent.result_ + 8, payload.data(), payload.size());
    intent.finish(static_cast<std::uint32_t>(payload.size()));
    return;
  }
  // Larger than foreseen: a slot of its own, then the intent stands aside (a crash between the
  // two leaves both, the begun one with status 0).
  write_payload(payload);
  intent.finish(0);
}

Journal::Intent& Journal::Intent::operator=(Intent&& other) noexcept {
  if (this != &other) {
    if (file_) finish(kUseIntent);
    file_ = std::move(other.file_);
    slot_ = std::exchange(other.slot_, nullptr);
    result_ = std::exchange(other.result_, nullptr);
    capacity_ = other.capacity_;
  }
  return *this;
}

Journal::Intent::~Intent() {
  if (file_) finish(kUseIntent);
}

void Journal::Intent::finish(std::uint32_t result_length) {
  std::memcpy(result_, &result_length, 4);
  publish(slot_, kCompletedMagic);
  file_.reset();
}

void Journal::start() {
  thread_ = std::thread([this] { loop(); });
}

void Journal::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  try {
    ingest();
    std::shared_ptr<File> last;
    {
      std::unique_lock exclusive(current_mutex_);  // waits for the appends under way
      last = std::exchange(current_, nullptr);     // later appends throw
    }
    std::lock_guard ingest_lock(ingest_mutex_);
    if (last) ingest_file(*last, true, true);  // stored to its end (every request has ended): deleted
  } catch (const std::exception& e) {
    // What is left stays in the file, and the next process to start stores it.
    observability::log_event(observability::Level::warn, "audit journal not stored at stop", 0, e.what());
  }
}

void Journal::loop() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, options_.ingest_every, [this] { return stopping_; });
      if (stopping_) return;
    }
    try {
      ingest();
    } catch (const std::exception& e) {
      // The database is away: the journal keeps the records, and the next pass stores them.
      observability::log_event(observability::Level::warn, "audit journal not stored yet", 0, e.what());
    }
  }
}

std::size_t Journal::ingest() {
  std::lock_guard ingest_lock(ingest_mutex_);
  std::size_t stored = 0;

  // Abandoned files first: they hold older records than anything this process wrote.
  std::vector<fs::path> others;
  for (const auto& entry : fs::directory_iterator(options_.directory)) {
    const auto name = entry.path().filename().string();
    if (name.ends_with(kSuffix) && !name.starts_with(node_)) others.push_back(entry.path());
  }
  std::sort(others.begin(), others.end());
  for (const auto& path : others) {
    File file;
    file.name = path.filename().string();
    file.path = path;
    file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (file.fd < 0) continue;                               // deleted meanwhile by another node
    if (::flock(file.fd, LOCK_EX | LOCK_NB) != 0) continue;  // its writer is alive
    struct stat st {};
    if (::fstat(file.fd, &st) != 0 || st.st_nlink == 0) continue;  // read and deleted by another node
    // Read, not mapped: reading a hole of a mapped file allocates a page on some file systems
    // (tmpfs), and on a full one that is a SIGBUS. pread() of a hole reads zeros.
    file.contents.resize(static_cast<std::size_t>(st.st_size) & ~std::size_t{7});
    std::size_t got = 0;
    while (got < file.contents.size()) {
      const auto n = ::pread(file.fd, file.contents.data() + got, file.contents.size() - got, static_cast<off_t>(got));
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got < file.contents.size()) continue;  // unreadable now: the next pass tries again
    file.base = file.contents.data();
    file.size = file.contents.size();
    file.allocated.store(file.size, std::memory_order_relaxed);
    stored += ingest_file(file, true, false);
  }

  // The current file as of now, and the full files before it, in order. Every slot of a full
  // file was published before the rotation that retired it (a rotation waits for the appends
  // under way). A file that fills up meanwhile is read as current now, and to its end next time.
  std::shared_ptr<File> current;
  {
    std::shared_lock lock(current_mutex_);
    current = current_;
  }
  while (true) {
    std::shared_ptr<File> full;
    {
      std::lock_guard finished_lock(finished_mutex_);
      if (finished_.empty() || finished_.front() == current) break;
      full = finished_.front();
    }
    stored += ingest_file(*full, true, true);  // throws, and the file stays listed, while the database is away
    if (!full->done) return stored;            // a change's answer to come: nothing after it yet
    std::lock_guard finished_lock(finished_mutex_);
    finished_.erase(finished_.begin());
  }
  if (current) {
    // Idle (nothing written since the last pass): no database round trip every 100 ms.
    if (current->tail.load(std::memory_order_acquire) != current->read_to) stored += ingest_file(*current, false, true);
    release_read_pages(*current);
    populate_ahead(*current, std::size_t{4} << 20);
  }
  return stored;
}

// A page a writer touches first costs it a page fault, which on some machines (virtual ones)
// was half of what recording a request cost: the ingest thread maps the next pages in, writable,
// before the writers get there. (MADV_POPULATE_WRITE: Linux 5.14; without it, writers fault.)
void Journal::populate_ahead(File& file, std::size_t ahead) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const auto tail = std::min(file.tail.load(std::memory_order_relaxed), file.size);
  extend(file, std::min(file.size, tail + ahead));  // no room: the writers find out, and answer 503
  const auto target = std::min(file.allocated.load(std::memory_order_acquire), ((tail + ahead) / page) * page);
  if (target <= file.populated || target < file.populated + ahead / 4) return;
  const auto from = std::max(file.populated, (tail / page) * page);
  if (target > from) ::madvise(file.base + from, target - from, MADV_POPULATE_WRITE);
  file.populated = target;
}

// The pages before the last slot read will not be written again: this process's mapping lets
// them go (they stay in the page cache and the file), so a file's pages do not all stay
// resident until it is full. A few MiB at a time: each call interrupts the other threads.
void Journal::release_read_pages(File& file) {
  constexpr std::size_t kAtLeast = std::size_t{4} << 20;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const auto done = (file.read_to / page) * page;
  if (done < file.released + kAtLeast) return;
  ::madvise(file.base + file.released, done - file.released, MADV_DONTNEED);
  file.released = done;
}

std::size_t Journal::ingest_file(File& file, bool finished, bool writer_alive) {
  const auto read_to = store_.audit().journal_read_to(file.name);
  std::size_t stored = 0;
  std::vector<store::AuditRecord> records;
  auto position = static_cast<std::size_t>(std::max<std::int64_t>(read_to, 0)) & ~std::size_t{7};
  const auto flush = [&] {
    store_.audit().ingest_records(records, file.name, static_cast<std::int64_t>(position));
    stored += records.size();
    records.clear();
  };
  const auto word = [&](std::size_t at) {
    std::uint32_t v = 0;
    std::memcpy(&v, file.base + at, 4);
    return v;
  };
  // Only where disk blocks are allocated: past them, even a read can fault on a full disk.
  const auto end = std::min(file.size, file.allocated.load(std::memory_order_acquire));
  bool waiting = false;  // at a change's record whose answer is still to come
  while (position + kHeader <= end) {
    const auto magic = load_acquire(file.base + position);
    std::optional<std::string_view> payload;  // the record, if the slot holds one
    std::size_t size = 0;                     // the slot's, when it is whole
    if (magic == kSlotMagic) {
      size = slot_size(word(position + 4));
      if (position + size <= end) payload = std::string_view(file.base + position + kHeader, word(position + 4));
    } else if (magic == kIntentMagic || magic == kCompletedMagic) {
      if (magic == kIntentMagic && writer_alive) {
        waiting = true;
        break;
      }
      const auto length = word(position + 4);
      const auto result = position + kHeader + padded(length);
      if (result + 8 <= end) {
        const auto result_length = word(result);
        const auto capacity = word(result + 4);
        size = result + 8 + padded(capacity) - position;
        if (position + size > end) {
          size = 0;
        } else if (magic == kIntentMagic || result_length == kUseIntent) {
          payload = std::string_view(file.base + position + kHeader, length);  // status 0: no answer
        } else if (result_length > 0 && result_length <= capacity) {
          payload = std::string_view(file.base + result + 8, result_length);
        } else if (result_length == 0) {
          position += size;  // its record is in a slot of its own
          continue;
        }
      }
    } else {
      // The live file: its end, or a slot being written (read next time). A file whose writer
      // is gone: a slot it never finished; the next one starts at the next magic.
      if (!finished) break;
      position += 8;
      continue;
    }
    auto record = payload ? parse_payload(*payload) : std::nullopt;
    if (!record || size == 0) {
      // Not a slot this program wrote whole (a damaged file): look further on.
      observability::log_event(
          observability::Level::warn,
          fmt::format("audit journal {}: unreadable slot at byte {} skipped", file.name, position));
      position += 8;
      continue;
    }
    records.push_back(std::move(*record));
    position += size;
    if (records.size() >= options_.records_per_transaction) flush();
  }
  file.done = finished && !waiting;
  if (file.done) position = std::max(position, end);
  file.read_to = position;
  if (!records.empty() || static_cast<std::int64_t>(position) != read_to) flush();
  if (file.done) {
    std::error_code ec;
    fs::remove(file.path, ec);
    store_.audit().forget_journal(file.name);
  }
  return stored;
}

}  // namespace ok::audit
