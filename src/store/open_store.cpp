#include "store/sql/backend.hpp"
#include "store/sql/sql_store.hpp"
#include "store/sqlite/backend.hpp"
#include "store/store.hpp"

#include <filesystem>
#include <stdexcept>

namespace ok::store {

namespace sql {

std::unique_ptr<Backend> open_backend(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.rfind(kSqlite, 0) == 0) {
    std::string path = url.substr(kSqlite.size());
    if (path.empty())
      throw std::invalid_argument("the sqlite: database URL needs a file path, e.g. sqlite:./var/openkonnect.db");
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    return std::make_unique<sqlite::SqliteBackend>(std::move(path));
  }
  throw std::invalid_argument("unsupported database URL [" + url + "]: expected sqlite:PATH");
}

}  // namespace sql

std::unique_ptr<Store> open_store(const std::string& url, bool apply_migrations) {
  return std::make_unique<sql::SqlStore>(sql::open_backend(url), apply_migrations);
}

}  // namespace ok::store
