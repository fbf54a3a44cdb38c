#pragma once
// Shared by the fuzz targets that need a database: a temporary SQLite store, created once per
// process, with one organization whose admin holds a valid personal access token.
//
// The database lives in $OPENKONNECT_FUZZ_TMPDIR when set (fuzz/run.sh points it at a
// directory under /dev/shm and removes it afterwards), else under /dev/shm, else the system
// temporary directory; on tmpfs SQLite's fsyncs cost nothing, which keeps writes fast. The
// directory is removed at a normal exit; a crashing run leaves it behind for run.sh to clean.

#include "api/identity/organizations.hpp"
#include "errors/api_error.hpp"
#include "store/store.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ok::fuzz {

[[noreturn]] inline void violation(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %.*s\n", static_cast<int>(what.size()), what.data());
  if (!detail.empty()) std::fprintf(stderr, "  %.*s\n", static_cast<int>(detail.size()), detail.data());
  std::fflush(stderr);
  std::abort();
}

inline std::vector<std::string>& temp_dirs() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}

// A fresh directory for this process's database; removed at exit.
inline std::string make_temp_dir() {
  std::string base;
  if (const char* env = std::getenv("OPENKONNECT_FUZZ_TMPDIR"); env && *env) {
    base = env;
  } else if (std::filesystem::is_directory("/dev/shm") && ::access("/dev/shm", W_OK) == 0) {
    base = "/dev/shm";
  } else {
    base = std::filesystem::temp_directory_path().string();
  }
  std::filesystem::create_directories(base);
  std::string dir = base + "/openkonnect-fuzz-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) violation("cannot create a temporary directory", dir);
  if (temp_dirs().empty()) {
    std::atexit([] {
      std::error_code ec;
      for (const auto& d : temp_dirs()) std::filesystem::remove_all(d, ec);
    });
  }
  temp_dirs().push_back(dir);
  return dir;
}

// A migrated SQLite store in a fresh temporary directory.
inline std::unique_ptr<store::Store> make_temp_store() {
  return store::open_store("sqlite:" + make_temp_dir() + "/fuzz.db", true);
}

// A new organization with an admin and the admin's token.
inline api::identity::CreatedOrganization make_organization(store::Store& store) {
  static int counter = 0;
  ++counter;
  return api::identity::create_organization(store, "Fuzz " + std::to_string(counter),
                                            "admin" + std::to_string(counter) + "@fuzz.test", 365 * 86400);
}

// Replaces every "$NAME" of `vars` in `text` (longest names first are the caller's job).
inline void substitute(std::string& text, const std::vector<std::pair<std::string, std::string>>& vars) {
  if (text.find('$') == std::string::npos) return;
  for (const auto& [name, value] : vars) {
    for (std::size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + value.size())) {
      text.replace(at, name.size(), value);
    }
  }
}

}  // namespace ok::fuzz
