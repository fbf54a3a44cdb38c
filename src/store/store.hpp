#pragma once
// The Store interface: everything openkonnect persists goes through it. Each method is one
// atomic, durable operation: when it returns, the change is committed to stable storage.
// Every method that touches an organization's data takes its OrgId and only ever sees that
// organization's rows, so a lookup of another organization's id is a plain "not found".
//
// Errors: ConflictError for a unique-key clash, UnavailableError when the database cannot
// serve the call. Backends: store/sqlite (embedded default); PostgreSQL comes later.

#include "store/errors.hpp"
#include "store/records.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ok::store {

struct Team {
  std::string id;
  std::string org_id;
  std::string name;
  std::optional<std::string> description;
  bool system_team = false;
  std::vector<std::pair<std::string, std::string>> labels;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct RoleAssignment {
  std::string id;
  std::string org_id;
  std::string principal_kind;  // "user", "team", "system_account"
  std::string principal_id;
  std::string role_name;
  std::string entity_type_name;
  std::string entity_id;  // a UUID or "*"
  std::string entity_region;
};

// Everything `org create` makes, written in one transaction.
struct OrganizationBootstrap {
  Organization organization;
  User admin;
  std::vector<Team> system_teams;
  std::vector<RoleAssignment> team_roles;
  std::string admin_team_id;  // the team the admin joins
  AccessToken admin_token;
};

// A resolved credential: the token and the principal it belongs to.
struct TokenLookup {
  AccessToken token;
  bool owner_exists = false;
};

struct ControlPlaneQuery {
  PageRequest page;
  bool newest_first = false;
  std::vector<std::string> id_in;            // eq / oeq
  std::vector<std::string> name_eq;          // each must match
  std::vector<std::string> name_neq;
  std::vector<std::string> name_contains;
  std::vector<std::string> cluster_type_in;  // eq / oeq
  std::vector<std::string> cluster_type_neq;
  std::optional<bool> cloud_gateway;
  std::vector<std::pair<std::string, std::optional<std::string>>> labels;  // key, value or existence
  // When set, only these ids are visible (the caller may read just these control planes).
  std::optional<std::vector<std::string>> visible_ids;
};

class Store {
 public:
  virtual ~Store() = default;

  // Cheap liveness probe used by /healthz: throws UnavailableError when the database is down.
  virtual void ping() = 0;
  // The newest migration version applied.
  virtual int schema_version() = 0;

  // --- organizations
  virtual void bootstrap_organization(const OrganizationBootstrap& bootstrap) = 0;
  virtual std::optional<Organization> get_organization(const OrgId& org) = 0;

  // --- tokens (looked up by hash before the organization is known)
  virtual std::optional<TokenLookup> find_token_by_hash(const std::string& token_hash) = 0;
  virtual void touch_token(const std::string& token_id, std::int64_t used_at) = 0;

  // --- users
  virtual std::optional<User> get_user(const OrgId& org, const std::string& user_id) = 0;

  // --- authorization data: every role that applies to a principal, direct or through teams
  virtual std::vector<RoleAssignment> effective_roles(const OrgId& org, const std::string& principal_kind,
                                                      const std::string& principal_id) = 0;

  // --- control planes
  virtual void insert_control_plane(const ControlPlane& cp) = 0;
  virtual std::optional<ControlPlane> get_control_plane(const OrgId& org, const std::string& id) = 0;
  virtual Page<ControlPlane> list_control_planes(const OrgId& org, const ControlPlaneQuery& query) = 0;
  virtual bool update_control_plane(const ControlPlane& cp) = 0;  // false: not found
  virtual bool delete_control_plane(const OrgId& org, const std::string& id) = 0;
};

// Opens the backend named by a database URL ("sqlite:PATH"), applying pending migrations.
// Throws std::invalid_argument for an unsupported URL and UnavailableError when the
// database cannot be opened.
std::unique_ptr<Store> open_store(const std::string& url, bool apply_migrations = true);

}  // namespace ok::store
