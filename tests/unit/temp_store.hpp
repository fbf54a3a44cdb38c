#pragma once
// A SQLite store in a directory of its own, removed with it: what store-backed unit tests
// start from.

#include "store/store.hpp"
#include "util/ids.hpp"

#include <filesystem>
#include <memory>

namespace ok::test_support {

class TempStore {
 public:
  TempStore()
      : dir_(std::filesystem::temp_directory_path() / ("openkonnect-unit-" + util::new_uuid())),
        store_(
            (std::filesystem::create_directories(dir_), store::open_store("sqlite:" + (dir_ / "test.db").string()))) {}
  ~TempStore() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  store::Store& operator*() { return *store_; }
  store::Store* operator->() { return store_.get(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
};

}  // namespace ok::test_support
