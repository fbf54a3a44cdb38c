#include "cluster/version.hpp"

#include <fmt/format.h>

#include <charconv>

namespace ok::cluster {

std::string KongVersion::str() const {
  return build ? fmt::format("{}.{}.{}.{}", major, minor, patch, build) : fmt::format("{}.{}.{}", major, minor, patch);
}

std::optional<KongVersion> parse_kong_version(std::string_view text) {
  int parts[4] = {0, 0, 0, 0};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  int count = 0;
  while (count < 4) {
    if (p == end || *p < '0' || *p > '9') break;
    auto [next, ec] = std::from_chars(p, end, parts[count]);
    if (ec != std::errc() || next - p > 6) return std::nullopt;
    p = next;
    ++count;
    if (p == end || *p != '.') break;
    ++p;
  }
  if (count < 3) return std::nullopt;
  return KongVersion{parts[0], parts[1], parts[2], parts[3]};
}

std::string version_incompatibility(const KongVersion& cp, const std::optional<KongVersion>& dp) {
  if (!dp) return "the data plane's version could not be read (expected MAJOR.MINOR.PATCH)";
  if (dp->major != cp.major) {
    return fmt::format("data plane version {} has another major version than the control plane's {}", dp->str(),
                       cp.str());
  }
  if (dp->minor > cp.minor) {
    return fmt::format("data plane version {} is newer than the control plane's {}", dp->str(), cp.str());
  }
  return {};
}

}  // namespace ok::cluster
