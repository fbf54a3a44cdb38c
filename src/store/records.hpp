#pragma once
// Plain records exchanged with the Store. Timestamps are epoch milliseconds.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ok::store {

// The tenant boundary. Every query of an organization's data takes one; it is a distinct
// type so that a handler cannot pass some other id where the organization belongs.
class OrgId {
 public:
  explicit OrgId(std::string value) : value_(std::move(value)) {}
  const std::string& str() const { return value_; }
  bool operator==(const OrgId&) const = default;

 private:
  std::string value_;
};

struct Organization {
  std::string id;
  std::string name;
  std::string owner_id;
  std::string login_path;
  std::string state = "active";
  std::int64_t retention_period_days = 90;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct User {
  std::string id;
  std::string org_id;
  std::string email;
  std::string full_name;
  std::string preferred_name;
  bool active = true;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

enum class PrincipalKind { user, system_account };

struct AccessToken {
  std::string id;
  std::string org_id;
  PrincipalKind owner_kind = PrincipalKind::user;
  std::string owner_id;
  std::string name;
  std::string token_hash;  // hex SHA-256 of the secret; the secret itself is never stored
  std::int64_t expires_at = 0;  // 0: never
  std::optional<std::int64_t> revoked_at;
  std::string revoked_by;
  std::optional<std::int64_t> last_used_at;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct SystemAccount {
  std::string id;
  std::string org_id;
  std::string name;
  std::string description;
  bool konnect_managed = false;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct ProxyUrl {
  std::string host;
  std::int64_t port = 0;
  std::string protocol;
};

struct ControlPlane {
  std::string id;
  std::string org_id;
  std::string name;
  std::string description;
  std::string cluster_type = "CLUSTER_TYPE_CONTROL_PLANE";
  std::string auth_type = "pinned_client_certs";
  bool cloud_gateway = false;
  std::vector<ProxyUrl> proxy_urls;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// A request for one page of a numbered list.
struct PageRequest {
  std::int64_t size = 100;
  std::int64_t number = 1;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::int64_t total = 0;
};

}  // namespace ok::store
