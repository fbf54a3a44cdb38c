#include "store/postgres/backend.hpp"
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
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    return std::make_unique<postgres::PgBackend>(url);
  }
  throw std::invalid_argument("unsupported database URL [" + redacted_url(url) +
                              "]: expected sqlite:PATH or postgres://USER@HOST:PORT/DATABASE");
}

}  // namespace sql

std::string redacted_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto authority = scheme_end + 3;
  const auto at = url.find('@', authority);
  const auto slash = url.find('/', authority);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
  const auto colon = url.find(':', authority);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::unique_ptr<Store> open_store(const std::string& url, bool apply_migrations) {
  return std::make_unique<sql::SqlStore>(sql::open_backend(url), apply_migrations);
}

}  // namespace ok::store
