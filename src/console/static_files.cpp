#include "console/static_files.hpp"

#include "crypto/pem.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace ok::console {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIndexPath = "/index.html";
constexpr std::string_view kImmutableCaching = "public, max-age=31536000, immutable";
constexpr std::string_view kRevalidateCaching = "no-cache";

constexpr std::array<std::pair<std::string_view, std::string_view>, 22> kConsoleContentTypes = {{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"txt", "text/plain; charset=utf-8"},
    {"wasm", "application/wasm"},
    {"xml", "application/xml"},
}};

// The first segment of every path the API answers (or may answer): never the console's.
constexpr std::array<std::string_view, 4> kApiRootSegments = {"konnect-api", "kong-cluster", "healthz", "metrics"};

bool is_version_segment(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == 'v' &&
         std::all_of(segment.begin() + 1, segment.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// True when `target` is `root` or lies beneath it (both canonical).
bool leads_inside(const fs::path& root, const fs::path& target) {
  const auto relative = target.lexically_relative(root);
  return !relative.empty() && *relative.begin() != "..";
}

std::string read_console_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(fmt::format("{}: cannot be read", path.string()));
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::invalid_argument(fmt::format("{}: cannot be read", path.string()));
  return body;
}

// A path the single-page app may own: not the API's, not an asset, no dot segment, and a last
// segment without '.' (a name with an extension is a file, and a missing file is a 404).
bool is_app_route(std::string_view path) {
  if (path.empty() || path.front() != '/' || is_api_path(path) || path.starts_with(kAssetsPrefix)) return false;
  std::string_view rest = path.substr(1);
  while (true) {
    const auto slash = rest.find('/');
    const auto segment = rest.substr(0, slash);
    if (segment == "." || segment == "..") return false;
    if (slash == std::string_view::npos) return segment.find('.') == std::string_view::npos;
    rest.remove_prefix(slash + 1);
  }
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view content_type_for(std::string_view file_name) {
  const auto slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  const auto dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string extension(file_name.substr(dot + 1));
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  for (const auto& [ext, type] : kConsoleContentTypes) {
    if (ext == extension) return type;
  }
  return "application/octet-stream";
}

bool is_api_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  const auto first = path.substr(1, path.find('/', 1) - 1);
  return is_version_segment(first) ||
         std::find(kApiRootSegments.begin(), kApiRootSegments.end(), first) != kApiRootSegments.end();
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (trim_ows(if_none_match) == "*") return true;
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    auto tag = trim_ows(if_none_match.substr(0, comma));
    if (tag.starts_with("W/")) tag.remove_prefix(2);  // the weak comparison
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

StaticFiles StaticFiles::load(const std::filesystem::path& directory) {
  std::error_code ec;
  const auto root = fs::canonical(directory, ec);
  if (ec || !fs::is_directory(root, ec)) {
    throw std::invalid_argument(fmt::format("{}: not a directory", directory.string()));
  }
  // Checked before anything is read: a directory without it is not a built console.
  if (!fs::is_regular_file(root / "index.html", ec)) {
    throw std::invalid_argument(
        fmt::format("{}: no index.html in it (is it the console's build output, web/dist?)", directory.string()));
  }
  StaticFiles files;
  try {
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
      const auto& entry = *it;
      const auto relative = entry.path().lexically_relative(root);
      if (entry.is_symlink()) {
        const auto target = fs::canonical(entry.path(), ec);
        if (ec || !leads_inside(root, target)) {
          throw std::invalid_argument(fmt::format("{}: {} is a symbolic link that leads outside the directory",
                                                  directory.string(), relative.generic_string()));
        }
      }
      if (!entry.is_regular_file()) continue;  // directories are walked; sockets, FIFOs … are not served
      auto body = read_console_file(entry.path());
      files.total_bytes_ += body.size();
      if (files.total_bytes_ > kMaxTotalBytes) {
        throw std::invalid_argument(fmt::format("{}: more than {} MiB of files; is it the console's build output?",
                                                directory.string(), kMaxTotalBytes >> 20));
      }
      std::string url_path = "/" + relative.generic_string();
      auto etag = "\"" + crypto::sha256_hex(body).substr(0, 16) + "\"";
      File file{.body = std::move(body),
                .content_type = content_type_for(url_path),
                .etag = std::move(etag),
                .cache_control = url_path.starts_with(kAssetsPrefix) ? kImmutableCaching : kRevalidateCaching};
      files.files_.emplace(std::move(url_path), std::move(file));
    }
  } catch (const fs::filesystem_error& e) {
    throw std::invalid_argument(fmt::format("{}: {}", directory.string(), e.what()));
  }
  return files;
}

const File* StaticFiles::find(std::string_view url_path) const {
  const auto it = files_.find(std::string(url_path));
  return it == files_.end() ? nullptr : &it->second;
}

std::optional<http::Response> StaticFiles::answer(const http::Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") return std::nullopt;
  const File* file = request.path == "/" ? find(kIndexPath) : find(request.path);
  if (!file && is_app_route(request.path)) file = find(kIndexPath);
  if (!file) return std::nullopt;

  http::Response response;
  response.headers = {
      {"ETag", file->etag},
      {"Cache-Control", std::string(file->cache_control)},
      {"Content-Security-Policy", std::string(kContentSecurityPolicy)},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
  };
  if (const auto condition = request.header("if-none-match"); condition && etag_matches(*condition, file->etag)) {
    response.status = 304;
    response.content_type.clear();  // a 304 describes no representation of its own
    return response;
  }
  response.content_type = std::string(file->content_type);
  response.body = file->body;
  return response;
}

}  // namespace ok::console
