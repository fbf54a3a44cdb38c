#pragma once
// Kong versions as data planes report them ("3.10.0", "3.4.3.12", "3.9.1-enterprise-edition"),
// and the control plane's rule for accepting one (Kong's compat checks): the same major, and a
// minor no newer than the control plane's. An older minor is accepted.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ok::cluster {

struct KongVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  int build = 0;  // the fourth part of enterprise versions, 0 when absent
  auto operator<=>(const KongVersion&) const = default;
  std::string str() const;
};

// Leading "MAJOR.MINOR.PATCH[.BUILD]"; whatever follows ("-enterprise-edition", "rc1") is ignored.
std::optional<KongVersion> parse_kong_version(std::string_view text);

// Why a data plane of version `dp` cannot take this control plane's configuration; empty when it can.
std::string version_incompatibility(const KongVersion& control_plane, const std::optional<KongVersion>& dp);

// The Kong version whose configuration format openkonnect produces and whose data planes it
// serves (plugin schemas and defaults follow it).
inline constexpr std::string_view kControlPlaneKongVersion = "3.10.0";

}  // namespace ok::cluster
