#pragma once
// The web console: a built single-page app (Vite's output: index.html, content-hashed files
// under /assets/, a favicon …) served from memory at `/`. Loaded once at start-up and never
// changed afterwards, so one StaticFiles is safely shared by every thread.
//
// answer() is asked only about GET and HEAD requests no API route matched, and answers
//   - a path naming a loaded file: that file;
//   - "/": index.html;
//   - any other path outside the API (is_api_path) and outside /assets/, with no "." or ".."
//     segment, whose last segment has no '.': index.html, so that the app's own URLs
//     (/control-planes/abc/services, history mode) load the app;
//   - nothing else: std::nullopt, and the caller answers 404 as for any unknown path.
// Every answer carries the file's strong ETag (a matching If-None-Match gets 304 without a body),
// its Cache-Control (files under /assets/ are named by their content: cached for a year,
// immutable; everything else, index.html first, `no-cache`: revalidated each time) and the
// security headers below. Console answers are not authenticated, rate limited or audited.

#include "http/request.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ok::console {

// The Content-Security-Policy of every console answer. Scripts come from this origin only: no
// inline script, no eval. Styles may also be inline ('unsafe-inline', for styles only) because
// Kong's UI components and the Monaco editor inject <style> elements at run time; an injected
// style cannot run code. Images and fonts may be data: URLs (Vite inlines small ones), Monaco
// starts its workers from blob: URLs, and the app talks only to this server.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; form-action 'self'";

// Where Vite puts its content-hashed output.
inline constexpr std::string_view kAssetsPrefix = "/assets/";

// The most a console directory may hold (bytes, all files together): it lives in memory, and a
// directory this large is not a built console but a mistake in --console-dir.
inline constexpr std::size_t kMaxTotalBytes = std::size_t{256} << 20;

struct File {
  std::string body;
  std::string_view content_type;
  std::string etag;  // strong, quoted: "\"<first 16 hex digits of the body's SHA-256>\""
  std::string_view cache_control;
};

class StaticFiles {
 public:
  // Reads every regular file under `directory` (recursively) into memory, keyed by its URL path
  // ("/index.html", "/assets/app-1a2b3c.js"). Symbolic links are followed when they lead to a
  // file inside the directory (symbolic links to directories are not walked). Throws
  // std::invalid_argument, with the reason, when `directory` is not a readable directory, has no
  // index.html, holds a symbolic link that leads outside it (or nowhere), or holds more than
  // kMaxTotalBytes.
  static StaticFiles load(const std::filesystem::path& directory);

  // The file at a decoded URL path, or nullptr.
  const File* find(std::string_view url_path) const;
  // The answer to a GET or HEAD (see the top of this file), or std::nullopt. A HEAD gets the
  // GET's answer, body included: the server sends its header block only.
  std::optional<http::Response> answer(const http::Request& request) const;

  std::size_t size() const { return files_.size(); }
  std::size_t total_bytes() const { return total_bytes_; }

 private:
  std::unordered_map<std::string, File> files_;
  std::size_t total_bytes_ = 0;
};

// The Content-Type for a file name, by its extension (case-insensitive);
// application/octet-stream for an unknown one.
std::string_view content_type_for(std::string_view file_name);

// Whether a path belongs to the API: its first segment is a version (v0, v1, v2 …) or one of the
// server's other roots (konnect-api, kong-cluster, healthz, metrics). Such a path never falls
// back to the console, so an unknown API path stays a problem+json 404.
bool is_api_path(std::string_view path);

// Whether an If-None-Match header value matches `etag` ("*", or a list of entity tags compared
// weakly, as RFC 9110 13.1.2 says).
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace ok::console
