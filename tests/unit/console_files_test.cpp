#include "console/static_files.hpp"

#include "api/build.hpp"
#include "auth/authenticator.hpp"
#include "http/target.hpp"
#include "ratelimit/gcra_limiter.hpp"
#include "temp_store.hpp"
#include "util/ids.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

namespace fs = std::filesystem;
using ok::console::StaticFiles;

// A directory of its own under the system's temporary directory, removed with it.
class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("openkonnect-console-" + ok::util::new_uuid())) {
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  void write(const std::string& relative, const std::string& content) const {
    const auto file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
  }

 private:
  fs::path path_;
};

constexpr const char* kIndexHtml = "<!doctype html><title>console</title><div id=app></div>";
constexpr const char* kAppJs = "console.log('app')";

// A built console as Vite leaves it.
void write_console(const TempDir& dir) {
  dir.write("index.html", kIndexHtml);
  dir.write("assets/app-abc123.js", kAppJs);
  dir.write("assets/app-abc123.css", "body{margin:0}");
  dir.write("assets/inter-def456.woff2", std::string("wOF2\0\x01", 6));
  dir.write("assets/logo-0a1b2c.svg", "<svg/>");
  dir.write("favicon.ico", std::string("\0\0\1\0", 4));
  dir.write("robots.txt", "User-agent: *\n");
  dir.write("data.bin", "??");
}

ok::http::Request request(std::string method, std::string target, std::optional<std::string> if_none_match = {}) {
  ok::http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  EXPECT_EQ(ok::http::parse_target(r), ok::http::TargetError::none) << r.target;
  if (if_none_match) r.headers.emplace_back("if-none-match", *if_none_match);
  return r;
}

std::string header(const ok::http::Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

class ConsoleFiles : public ::testing::Test {
 protected:
  ConsoleFiles() {
    write_console(dir_);
    files_ = StaticFiles::load(dir_.path());
  }
  std::optional<ok::http::Response> get(std::string target, std::optional<std::string> if_none_match = {}) {
    return files_.answer(request("GET", std::move(target), std::move(if_none_match)));
  }

  TempDir dir_;
  StaticFiles files_;
};

TEST_F(ConsoleFiles, LoadsEveryFileRecursivelyByUrlPath) {
  EXPECT_EQ(files_.size(), 8u);
  ASSERT_NE(files_.find("/index.html"), nullptr);
  ASSERT_NE(files_.find("/assets/app-abc123.js"), nullptr);
  EXPECT_EQ(files_.find("/assets/app-abc123.js")->body, kAppJs);
  EXPECT_EQ(files_.find("/assets/inter-def456.woff2")->body.size(), 6u);
  EXPECT_EQ(files_.find("/assets"), nullptr);
  EXPECT_EQ(files_.find("assets/app-abc123.js"), nullptr);
}

TEST_F(ConsoleFiles, ContentTypesByExtension) {
  EXPECT_EQ(get("/")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(get("/assets/app-abc123.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(get("/assets/app-abc123.css")->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(get("/assets/inter-def456.woff2")->content_type, "font/woff2");
  EXPECT_EQ(get("/assets/logo-0a1b2c.svg")->content_type, "image/svg+xml");
  EXPECT_EQ(get("/favicon.ico")->content_type, "image/x-icon");
  EXPECT_EQ(get("/robots.txt")->content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(get("/data.bin")->content_type, "application/octet-stream");

  using ok::console::content_type_for;
  EXPECT_EQ(content_type_for("a.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("a.js.map"), "application/json");
  EXPECT_EQ(content_type_for("a.json"), "application/json");
  EXPECT_EQ(content_type_for("a.png"), "image/png");
  EXPECT_EQ(content_type_for("a.woff"), "font/woff");
  EXPECT_EQ(content_type_for("a.ttf"), "font/ttf");
  EXPECT_EQ(content_type_for("/x/INDEX.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("/x.d/README"), "application/octet-stream");
  EXPECT_EQ(content_type_for("noextension"), "application/octet-stream");
}

TEST_F(ConsoleFiles, AssetsAreImmutableEverythingElseRevalidated) {
  EXPECT_EQ(header(*get("/assets/app-abc123.js"), "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header(*get("/assets/logo-0a1b2c.svg"), "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header(*get("/"), "Cache-Control"), "no-cache");
  EXPECT_EQ(header(*get("/index.html"), "Cache-Control"), "no-cache");
  EXPECT_EQ(header(*get("/favicon.ico"), "Cache-Control"), "no-cache");
  EXPECT_EQ(header(*get("/control-planes/x"), "Cache-Control"), "no-cache");
}

TEST_F(ConsoleFiles, EveryAnswerCarriesTheSecurityHeaders) {
  for (const auto* path : {"/", "/assets/app-abc123.js", "/favicon.ico", "/control-planes/abc/services"}) {
    const auto r = get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(header(*r, "Content-Security-Policy"), ok::console::kContentSecurityPolicy) << path;
    EXPECT_EQ(header(*r, "X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(header(*r, "Referrer-Policy"), "no-referrer") << path;
    EXPECT_EQ(header(*r, "X-Frame-Options"), "DENY") << path;
  }
  const std::string_view csp = ok::console::kContentSecurityPolicy;
  EXPECT_NE(csp.find("script-src 'self';"), std::string_view::npos);
  EXPECT_NE(csp.find("style-src 'self' 'unsafe-inline';"), std::string_view::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string_view::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string_view::npos);
}

TEST_F(ConsoleFiles, StrongEtagFromTheContentAnd304WhenItMatches) {
  const auto js = get("/assets/app-abc123.js");
  const auto etag = header(*js, "ETag");
  ASSERT_EQ(etag.size(), 18u) << etag;  // "<16 hex digits>"
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
  EXPECT_NE(etag, header(*get("/assets/app-abc123.css"), "ETag"));
  EXPECT_EQ(header(*get("/"), "ETag"), header(*get("/control-planes/x"), "ETag"));  // both are index.html

  for (const auto& condition : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    const auto r = get("/assets/app-abc123.js", condition);
    EXPECT_EQ(r->status, 304u) << condition;
    EXPECT_TRUE(r->body.empty());
    EXPECT_TRUE(r->content_type.empty());
    EXPECT_EQ(header(*r, "ETag"), etag);
    EXPECT_EQ(header(*r, "Cache-Control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(header(*r, "Content-Security-Policy"), ok::console::kContentSecurityPolicy);
  }
  const auto stale = get("/assets/app-abc123.js", "\"0123456789abcdef\"");
  EXPECT_EQ(stale->status, 200u);
  EXPECT_EQ(stale->body, kAppJs);

  // The same content has the same tag wherever it is loaded from.
  TempDir other;
  write_console(other);
  EXPECT_EQ(StaticFiles::load(other.path()).find("/assets/app-abc123.js")->etag, etag);
}

TEST_F(ConsoleFiles, SinglePageAppRoutesFallBackToIndex) {
  for (const auto* path : {"/", "/control-planes", "/control-planes/abc/services", "/organization/teams/",
                           "/index.html", "/login?next=/x", "/assetsx/y", "/version2/page"}) {
    const auto r = get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200u) << path;
    EXPECT_EQ(r->body, kIndexHtml) << path;
    EXPECT_EQ(r->content_type, "text/html; charset=utf-8") << path;
  }
}

TEST_F(ConsoleFiles, MissingFilesAndApiPathsAreNotTheConsoles) {
  for (const auto* path : {"/assets/missing.js", "/assets/missing", "/assets/", "/missing.js", "/x/y.png", "/v2/nope",
                           "/v2/control-planes/unknown", "/v3", "/v1/outlet", "/v0/x", "/v10/x", "/konnect-api/api/x",
                           "/kong-cluster", "/metrics/x", "/healthz/", "/control-planes/a.b"}) {
    EXPECT_FALSE(get(path)) << path;
  }
  using ok::console::is_api_path;
  EXPECT_TRUE(is_api_path("/v2"));
  EXPECT_TRUE(is_api_path("/v3/users/me"));
  EXPECT_TRUE(is_api_path("/healthz"));
  EXPECT_TRUE(is_api_path("/metrics"));
  EXPECT_FALSE(is_api_path("/"));
  EXPECT_FALSE(is_api_path("/v"));
  EXPECT_FALSE(is_api_path("/v2x/y"));
  EXPECT_FALSE(is_api_path("/control-planes"));
}

TEST_F(ConsoleFiles, OnlyGetAndHeadAreAnswered) {
  EXPECT_TRUE(files_.answer(request("HEAD", "/")));
  EXPECT_EQ(files_.answer(request("HEAD", "/assets/app-abc123.js"))->body, kAppJs);  // the server sends no body
  for (const auto* method : {"POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    EXPECT_FALSE(files_.answer(request(method, "/"))) << method;
    EXPECT_FALSE(files_.answer(request(method, "/assets/app-abc123.js"))) << method;
  }
}

TEST_F(ConsoleFiles, NoPathLeavesTheDirectory) {
  const auto outside = "outside-" + dir_.path().filename().string() + ".js";  // beside the directory
  dir_.write("../" + outside, "secret");
  for (const auto* target :
       {"/../x", "/../outside.js", "/assets/../index.html", "/assets/%2e%2e/index.html", "/%2e%2e/%2e%2e/etc/passwd",
        "/./index.html", "/a/./b", "/a/../b", "/..", "/assets/..%2findex.html"}) {
    const auto r = get(target);
    EXPECT_FALSE(r) << target << " answered " << (r ? r->body : "");
  }
  EXPECT_FALSE(get("/../" + outside));
  EXPECT_FALSE(get("/%2e%2e/" + outside));
  fs::remove(dir_.path().parent_path() / outside);
}

TEST(ConsoleLoad, RefusesADirectoryWithoutIndexHtml) {
  TempDir dir;
  dir.write("assets/app.js", kAppJs);
  try {
    StaticFiles::load(dir.path());
    FAIL() << "loaded";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("no index.html"), std::string::npos) << e.what();
  }
  EXPECT_THROW(StaticFiles::load(dir.path() / "missing"), std::invalid_argument);
  dir.write("file", "x");
  EXPECT_THROW(StaticFiles::load(dir.path() / "file"), std::invalid_argument);
  dir.write("nested/index.html", kIndexHtml);  // not at the top: still not a console
  EXPECT_THROW(StaticFiles::load(dir.path()), std::invalid_argument);
}

TEST(ConsoleLoad, FollowsSymlinksInsideRefusesThoseLeavingIt) {
  TempDir outside;
  outside.write("secret.txt", "secret");
  TempDir dir;
  write_console(dir);
  fs::create_symlink(dir.path() / "assets" / "app-abc123.js", dir.path() / "app.js");
  const auto files = StaticFiles::load(dir.path());
  ASSERT_NE(files.find("/app.js"), nullptr);
  EXPECT_EQ(files.find("/app.js")->body, kAppJs);

  fs::create_symlink(outside.path() / "secret.txt", dir.path() / "assets" / "secret.txt");
  EXPECT_THROW(StaticFiles::load(dir.path()), std::invalid_argument);
  fs::remove(dir.path() / "assets" / "secret.txt");
  fs::create_directory_symlink(outside.path(), dir.path() / "linked");
  EXPECT_THROW(StaticFiles::load(dir.path()), std::invalid_argument);
  fs::remove(dir.path() / "linked");
  fs::create_symlink(dir.path() / "gone", dir.path() / "dangling");
  EXPECT_THROW(StaticFiles::load(dir.path()), std::invalid_argument);
  fs::remove(dir.path() / "dangling");
  EXPECT_NO_THROW(StaticFiles::load(dir.path()));
}

// Through the whole pipeline: the console answers only what no route does, with its own
// headers, and an API path keeps its problem+json 404.
class ConsoleApp : public ::testing::Test {
 protected:
  ConsoleApp()
      : authenticator_(*store_, generations_),
        app_(ok::api::build_app(*store_, authenticator_, generations_, limiter_, ok::api::Settings{})) {
    write_console(dir_);
    files_ = StaticFiles::load(dir_.path());
  }
  ok::http::Response handle(std::string method, std::string target) {
    ok::http::Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.trace_id = 7;
    return app_->handle(r);
  }

  TempDir dir_;
  StaticFiles files_;
  ok::test_support::TempStore store_;
  ok::auth::Generations generations_;
  ok::auth::Authenticator authenticator_;
  ok::ratelimit::GcraLimiter limiter_;
  std::unique_ptr<ok::api::App> app_;
};

TEST_F(ConsoleApp, EveryRouteIsAnApiPath) {
  for (const auto& line : app_->route_table()) {
    const auto path = line.substr(line.find(' ') + 1);
    EXPECT_TRUE(ok::console::is_api_path(path)) << line << ": add its root to console/static_files.cpp";
  }
}

TEST_F(ConsoleApp, WithoutAConsoleTheRootIsA404) {
  const auto r = handle("GET", "/");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.content_type, "application/problem+json");
}

TEST_F(ConsoleApp, AnswersWhatNoRouteDoes) {
  app_->attach_console(files_);
  const auto index = handle("GET", "/control-planes/abc");
  EXPECT_EQ(index.status, 200u);
  EXPECT_EQ(index.body, kIndexHtml);
  EXPECT_EQ(header(index, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(index, "X-Kong-Request-Id"), "7");
  int cache_controls = 0;
  for (const auto& [name, value] : index.headers) cache_controls += name == "Cache-Control" ? 1 : 0;
  EXPECT_EQ(cache_controls, 1);

  for (const auto* target : {"/v2/nope", "/v2/control-planes/unknown", "/assets/missing.js"}) {
    const auto r = handle("GET", target);
    EXPECT_TRUE(r.status == 404u || r.status == 401u) << target << ": " << r.status;
    EXPECT_EQ(r.content_type, "application/problem+json") << target;
    EXPECT_EQ(header(r, "Cache-Control"), "no-store") << target;
  }
  EXPECT_EQ(handle("POST", "/").status, 404u);
  EXPECT_EQ(handle("GET", "/healthz").status, 200u);  // routes come first
  EXPECT_EQ(handle("GET", "/%zz").status, 400u);

  const auto metrics = handle("GET", "/metrics").body;
  EXPECT_NE(metrics.find("openkonnect_http_requests_total{route=\"console\",status=\"200\"} 1"), std::string::npos)
      << metrics;
}

}  // namespace
