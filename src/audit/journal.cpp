#include "audit/journal.hpp"

#include "observability/log.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

// One line: org_id TAB ts TAB entry NEWLINE. Neither an organization id nor an encoded entry
// (JSON, control characters escaped) holds a tab or a newline.
std::string line_of(const store::AuditRecord& r) {
  std::string line;
  line.reserve(r.org_id.size() + r.entry.size() + 24);
  line += r.org_id;
  line += '\t';
  line += std::to_string(r.ts_ms);
  line += '\t';
  line += r.entry;
  line += '\n';
  return line;
}

std::optional<store::AuditRecord> parse_line(std::string_view line) {
  const auto first = line.find('\t');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = line.find('\t', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  store::AuditRecord r;
  r.org_id = std::string(line.substr(0, first));
  const auto ts = line.substr(first + 1, second - first - 1);
  if (std::from_chars(ts.data(), ts.data() + ts.size(), r.ts_ms).ec != std::errc{}) return std::nullopt;
  r.entry = std::string(line.substr(second + 1));
  if (r.entry.empty() || r.entry.front() != '[') return std::nullopt;
  return r;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

struct Journal::File {
  std::string name;  // in the directory
  fs::path path;
  int fd = -1;
  ~File() {
    if (fd >= 0) ::close(fd);  // releases the flock too
  }
};

Journal::Journal(store::Store& store, JournalOptions options)
    : store_(store), options_(std::move(options)), node_(util::new_uuid()) {
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
  file->fd = ::open(file->path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (file->fd < 0) {
    throw std::runtime_error(
        fmt::format("the audit journal {} cannot be opened: {}", file->path.string(), errno_text()));
  }
  if (::flock(file->fd, LOCK_EX | LOCK_NB) != 0) {
    throw std::runtime_error(
        fmt::format("the audit journal {} cannot be locked: {}", file->path.string(), errno_text()));
  }
  return file;
}

void Journal::append(const store::AuditRecord& record) {
  const auto line = line_of(record);
  std::shared_lock lock(current_mutex_);
  if (!current_) throw std::runtime_error("the audit journal is closed");
  // O_APPEND: each line lands whole at the end, whichever thread writes it.
  const auto written = ::write(current_->fd, line.data(), line.size());
  if (written != static_cast<ssize_t>(line.size())) {
    throw std::runtime_error(fmt::format("the audit journal {} cannot be written: {}", current_->path.string(),
                                         written < 0 ? errno_text() : std::string("short write")));
  }
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
    std::lock_guard ingest_lock(ingest_mutex_);
    if (current_) ingest_file(*current_, true);  // stored to its end: deleted
    current_.reset();
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
    if (!fs::exists(path)) continue;                         // read and deleted by another node meanwhile
    stored += ingest_file(file, true);
  }

  {
    std::shared_lock lock(current_mutex_);
    struct stat st {};
    if (current_ && ::fstat(current_->fd, &st) == 0 && static_cast<std::size_t>(st.st_size) >= options_.rotate_bytes) {
      lock.unlock();
      auto next = open_file(generation_ + 1);
      std::unique_lock exclusive(current_mutex_);
      ++generation_;
      finished_.push_back(std::exchange(current_, std::move(next)));
    }
  }
  // No append can reach a finished file now: the swap waited for every append under way.
  while (!finished_.empty()) {
    stored += ingest_file(*finished_.front(), true);
    finished_.erase(finished_.begin());
  }
  std::shared_ptr<File> current;
  {
    std::shared_lock lock(current_mutex_);
    current = current_;
  }
  if (current) stored += ingest_file(*current, false);
  return stored;
}

std::size_t Journal::ingest_file(File& file, bool finished) {
  auto read_to = store_.audit().journal_read_to(file.name);
  const int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error(fmt::format("the audit journal {} cannot be read: {}", file.path.string(), errno_text()));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};

  std::size_t stored = 0;
  std::string pending;  // bytes read past the last complete line
  std::vector<store::AuditRecord> records;
  std::int64_t position = read_to;  // the file offset `pending` starts at
  std::vector<char> buffer(1 << 20);
  while (true) {
    const auto n = ::pread(fd, buffer.data(), buffer.size(), position + static_cast<std::int64_t>(pending.size()));
    if (n < 0)
      throw std::runtime_error(
          fmt::format("the audit journal {} cannot be read: {}", file.path.string(), errno_text()));
    if (n == 0) break;
    pending.append(buffer.data(), static_cast<std::size_t>(n));
    std::size_t start = 0;
    while (true) {
      const auto end = pending.find('\n', start);
      if (end == std::string::npos) break;
      const std::string_view line(pending.data() + start, end - start);
      if (auto record = parse_line(line)) {
        records.push_back(std::move(*record));
      } else if (!line.empty()) {
        // A line torn by a full disk: the request it belonged to was answered 503.
        observability::log_event(observability::Level::warn,
                                 fmt::format("audit journal {}: unreadable line at byte {} skipped", file.name,
                                             position + static_cast<std::int64_t>(start)));
      }
      start = end + 1;
      if (records.size() >= options_.records_per_transaction) {
        store_.audit().ingest_records(records, file.name, position + static_cast<std::int64_t>(start));
        stored += records.size();
        records.clear();
      }
    }
    position += static_cast<std::int64_t>(start);
    pending.erase(0, start);
  }
  if (!records.empty() || position != read_to) {
    store_.audit().ingest_records(records, file.name, position);
    stored += records.size();
  }
  if (finished) {
    // An unfinished last line of a finished file was never acknowledged: its writer died in
    // the middle of it.
    std::error_code ec;
    fs::remove(file.path, ec);
    store_.audit().forget_journal(file.name);
  }
  return stored;
}

}  // namespace ok::audit
