#pragma once
// The Store interface: everything openkonnect persists goes through it. Each method is one
// atomic, durable operation: when it returns, the change is committed to stable storage.
// Every method that touches an organization's data takes its OrgId and only ever sees that
// organization's rows, so a lookup of another organization's id is a plain "not found".
//
// Errors: ConflictError for a unique-key clash, UnavailableError when the database cannot
// serve the call. Backends: store/sql over store/sqlite (embedded default) or store/postgres.

#include "store/audit_store.hpp"
#include "store/data_plane_store.hpp"
#include "store/entity_store.hpp"
#include "store/errors.hpp"
#include "store/records.hpp"

#include <exception>
#include <functional>
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

// Numbered-page queries of identity collections. Empty members mean "no condition".
struct StringFilter {
  std::vector<std::string> eq;
  std::vector<std::string> contains;
};

struct UserQuery {
  PageRequest page;
  std::vector<std::string> id_eq;
  StringFilter email;
  StringFilter full_name;
  std::optional<bool> active;
  std::optional<std::string> team_id;  // members of this team only
  std::optional<std::vector<std::string>> visible_ids;
};

struct TeamQuery {
  PageRequest page;
  StringFilter name;
  std::vector<std::pair<std::string, std::string>> label_eq;        // key, value
  std::vector<std::pair<std::string, std::string>> label_contains;  // key, substring
  std::vector<std::string> label_exists;
  // Teams having this principal as a member ("user"/"system_account", id).
  std::optional<std::pair<std::string, std::string>> member;
  std::optional<std::vector<std::string>> visible_ids;
};

struct SystemAccountQuery {
  PageRequest page;
  StringFilter name;
  StringFilter description;
  std::optional<bool> konnect_managed;
  std::optional<std::string> team_id;
  std::optional<std::vector<std::string>> visible_ids;
};

struct RoleAssignmentQuery {
  std::vector<std::string> entity_id;
  std::vector<std::string> role_name;
  std::vector<std::string> entity_type_name;
};

struct TokenQuery {
  PageRequest page;
  StringFilter name;
};

// A resolved credential: the token and the principal it belongs to.
struct TokenLookup {
  AccessToken token;
  bool owner_exists = false;
};

struct ControlPlaneQuery {
  PageRequest page;
  bool newest_first = false;
  // Each inner list is one eq/oeq term (any of its values); several terms are ANDed.
  std::vector<std::vector<std::string>> id_in;
  std::vector<std::string> name_eq;  // each must match
  std::vector<std::string> name_neq;
  std::vector<std::string> name_contains;
  std::vector<std::vector<std::string>> cluster_type_in;
  std::vector<std::string> cluster_type_neq;
  std::optional<bool> cloud_gateway;
  std::vector<std::pair<std::string, std::optional<std::string>>> labels;  // key, value or existence
  // When set, only these ids are visible (the caller may read just these control planes).
  std::optional<std::vector<std::string>> visible_ids;
};

enum class MembershipChange { set, add, remove };

inline constexpr std::size_t kMaxGroupMembers = 256;
inline constexpr std::size_t kMaxGroupsPerMember = 5;

// Updates are read-modify-write inside the write transaction: `Mutate` receives the current
// record and changes it; what it leaves is written. Two concurrent PATCHes of one object
// therefore never lose each other's changes. A Mutate may throw (e.g. an errors::ApiError when
// the result would break a limit): nothing is written and the exception propagates.
template <typename T>
using Mutate = std::function<void(T&)>;

// Changes whenever any process commits to the database: read without opening a transaction.
// `modified_ns` is the wall-clock time of that last change, as the file system recorded it.
struct ChangeStamp {
  std::uint64_t file = 0;
  std::uint64_t size = 0;
  std::int64_t modified_ns = 0;
  bool operator==(const ChangeStamp&) const = default;
};

// A committed write as the other nodes on the same database hear of it: the organization
// whose cached data it may have changed and, when it touched one, the control plane whose
// configuration, pinned certificates or existence it may have changed.
struct Change {
  std::string org_id;
  std::string control_plane_id;
  bool operator==(const Change&) const = default;
};

// Hears what other nodes commit, where several share one database.
class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  virtual void changed(const std::vector<Change>& changes) = 0;
  // False from the moment a change committed elsewhere might not reach changed() (the channel
  // broke): nothing cached may be trusted then. True again once it is back; anything may have
  // changed in between.
  virtual void hearing(bool complete) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Cheap liveness probe used by /healthz: throws UnavailableError when the database is down.
  virtual void ping() = 0;
  // Bytes of memory the storage engine holds in this process (for /metrics); nullopt if unknown.
  virtual std::optional<std::int64_t> memory_in_use() = 0;
  // The newest migration version applied.
  virtual int schema_version() = 0;

  // --- organizations
  virtual void bootstrap_organization(const OrganizationBootstrap& bootstrap) = 0;
  virtual std::optional<Organization> get_organization(const OrgId& org) = 0;

  // --- tokens (looked up by hash before the organization is known)
  virtual std::optional<TokenLookup> find_token_by_hash(const std::string& token_hash) = 0;
  // Every stored token hash, in every organization (for auth::TokenIndex).
  virtual std::vector<std::string> all_token_hashes() = 0;
  // See ChangeStamp; nullopt when the backend cannot tell (then nothing may rely on it).
  virtual std::optional<ChangeStamp> change_stamp() = 0;
  // Records a token's last use. Best effort and asynchronous: it returns at once, and a
  // failure (a read-only database) is logged, never raised.
  virtual void touch_token(const std::string& token_id, std::int64_t used_at) = 0;

  // --- users
  // Inserts a user; ConflictError when the organization already has the email.
  virtual void insert_user(const User& user) = 0;
  virtual std::optional<User> get_user(const OrgId& org, const std::string& user_id) = 0;
  virtual std::optional<User> find_user_by_email(const OrgId& org, const std::string& email) = 0;
  virtual Page<User> list_users(const OrgId& org, const UserQuery& query) = 0;
  // The updated user; nullopt when it does not exist. Writes full_name, preferred_name, updated_at.
  virtual std::optional<User> modify_user(const OrgId& org, const std::string& id, const Mutate<User>& mutate) = 0;
  // Deletes the user with their tokens, memberships and role assignments. InvariantError
  // "last_admin" when the user is the only member of `protected_team_id`.
  virtual bool delete_user(const OrgId& org, const std::string& user_id, const std::string& protected_team_id) = 0;

  // --- teams
  virtual void insert_team(const Team& team) = 0;
  virtual std::optional<Team> get_team(const OrgId& org, const std::string& team_id) = 0;
  virtual std::optional<Team> find_team_by_name(const OrgId& org, const std::string& name) = 0;
  virtual Page<Team> list_teams(const OrgId& org, const TeamQuery& query) = 0;
  // Writes name, description, labels, updated_at. System teams are never changed (nullopt).
  virtual std::optional<Team> modify_team(const OrgId& org, const std::string& id, const Mutate<Team>& mutate) = 0;
  virtual bool delete_team(const OrgId& org, const std::string& team_id) = 0;
  // ConflictError when already a member.
  virtual void add_team_member(const OrgId& org, const std::string& team_id, const std::string& principal_kind,
                               const std::string& principal_id, std::int64_t now) = 0;
  // False when not a member. InvariantError "last_admin" when removing the last member of
  // `protected_team_id`.
  virtual bool remove_team_member(const OrgId& org, const std::string& team_id, const std::string& principal_kind,
                                  const std::string& principal_id, const std::string& protected_team_id) = 0;
  virtual bool is_team_member(const OrgId& org, const std::string& team_id, const std::string& principal_kind,
                              const std::string& principal_id) = 0;

  // --- role assignments (principal_kind "user", "team" or "system_account")
  // ConflictError when the same assignment exists.
  virtual void insert_role_assignment(const RoleAssignment& assignment) = 0;
  virtual std::vector<RoleAssignment> list_role_assignments(const OrgId& org, const std::string& principal_kind,
                                                            const std::string& principal_id,
                                                            const RoleAssignmentQuery& query) = 0;
  virtual std::optional<RoleAssignment> get_role_assignment(const OrgId& org, const std::string& principal_kind,
                                                            const std::string& principal_id,
                                                            const std::string& assignment_id) = 0;
  virtual bool delete_role_assignment(const OrgId& org, const std::string& principal_kind,
                                      const std::string& principal_id, const std::string& assignment_id) = 0;

  // --- system accounts
  virtual void insert_system_account(const SystemAccount& account) = 0;  // ConflictError on name
  virtual std::optional<SystemAccount> get_system_account(const OrgId& org, const std::string& id) = 0;
  virtual Page<SystemAccount> list_system_accounts(const OrgId& org, const SystemAccountQuery& query) = 0;
  // Writes name, description, updated_at. ConflictError on a duplicate name.
  virtual std::optional<SystemAccount> modify_system_account(const OrgId& org, const std::string& id,
                                                             const Mutate<SystemAccount>& mutate) = 0;
  virtual bool delete_system_account(const OrgId& org, const std::string& id) = 0;

  // --- access tokens of a user or system account
  // Inserts a token. ConflictError when the owner has a token of that name; InvariantError
  // "token_limit" when the owner already has `max_per_owner` tokens (0: no limit). When
  // the owner is a user, it becomes active.
  virtual void insert_token(const AccessToken& token, std::size_t max_per_owner) = 0;
  virtual std::optional<AccessToken> get_token(const OrgId& org, PrincipalKind owner_kind, const std::string& owner_id,
                                               const std::string& token_id) = 0;
  virtual Page<AccessToken> list_tokens(const OrgId& org, PrincipalKind owner_kind, const std::string& owner_id,
                                        const TokenQuery& query) = 0;
  // Writes name, revoked_at, revoked_by and updated_at. ConflictError on a duplicate name.
  virtual std::optional<AccessToken> modify_token(const OrgId& org, PrincipalKind owner_kind,
                                                  const std::string& owner_id, const std::string& token_id,
                                                  const Mutate<AccessToken>& mutate) = 0;
  virtual bool delete_token(const OrgId& org, PrincipalKind owner_kind, const std::string& owner_id,
                            const std::string& token_id) = 0;

  // --- authorization data: every role that applies to a principal, direct or through teams
  virtual std::vector<RoleAssignment> effective_roles(const OrgId& org, const std::string& principal_kind,
                                                      const std::string& principal_id) = 0;

  // --- control planes
  // Inserts a control plane together with `grants` (the creator's Admin role on it), in one
  // transaction. ConflictError when the organization already has the name.
  virtual void insert_control_plane(const ControlPlane& cp, const std::vector<RoleAssignment>& grants) = 0;
  // The same without waiting: returns at once, and `done` runs once the insert is durable
  // (with nullptr) or has failed (with the error insert_control_plane would throw). `done`
  // runs on a thread of the store's; it must be quick and must not throw.
  virtual void insert_control_plane_then(ControlPlane cp, std::vector<RoleAssignment> grants, WriteDone done) = 0;
  virtual std::optional<ControlPlane> get_control_plane(const OrgId& org, const std::string& id) = 0;
  virtual Page<ControlPlane> list_control_planes(const OrgId& org, const ControlPlaneQuery& query) = 0;
  // Writes name, description, auth_type, proxy_urls, labels, updated_at. ConflictError on a
  // duplicate name.
  virtual std::optional<ControlPlane> modify_control_plane(const OrgId& org, const std::string& id,
                                                           const Mutate<ControlPlane>& mutate) = 0;
  // Deletes a control plane with its configuration and the role assignments scoped to it; a
  // deleted member leaves its groups. InvariantError "group_not_empty" for a group that still has members.
  virtual bool delete_control_plane(const OrgId& org, const std::string& id) = 0;
  // The control planes among `ids` that exist in the organization.
  virtual std::vector<ControlPlane> find_control_planes(const OrgId& org, const std::vector<std::string>& ids) = 0;

  // --- control plane groups
  // Members ordered by id, after `after_id` (exclusive; empty: from the start).
  virtual Page<ControlPlane> list_group_members(const OrgId& org, const std::string& group_id,
                                                const std::string& after_id, std::int64_t size) = 0;
  // Changes a group's members in one transaction. InvariantError "group_full" when the group
  // would exceed kMaxGroupMembers; "member_group_limit:<id>" when a control plane would
  // belong to more than kMaxGroupsPerMember groups; "missing_reference:<id>" when a member
  // no longer exists; "group_missing" when the group itself was deleted meanwhile.
  virtual void change_group_members(const OrgId& org, const std::string& group_id, MembershipChange change,
                                    const std::vector<std::string>& member_ids, std::int64_t now) = 0;
  virtual bool is_group_member(const OrgId& org, const std::string& control_plane_id) = 0;

  // --- gateway configuration entities, per control plane (store/entity_store.hpp)
  virtual EntityStore& entities() = 0;
  // --- data planes: pinned certificates, nodes (store/data_plane_store.hpp)
  virtual DataPlaneStore& data_planes() = 0;
  // Audit settings and signing keys.
  virtual AuditStore& audit() = 0;

  // --- several nodes on one database
  // Starts telling `listener` of the writes other nodes commit; nullptr stops it, and once
  // that returns the listener is never called again. False when this database has no other
  // nodes to hear (an embedded file): then nothing is ever called.
  virtual bool listen(ChangeListener* listener) = 0;
};

// Opens the backend named by a database URL ("sqlite:PATH"), applying pending migrations.
// Throws std::invalid_argument for an unsupported URL and UnavailableError when the
// database cannot be opened.
std::unique_ptr<Store> open_store(const std::string& url, bool apply_migrations = true);

// `url` fit for a log line or a message: a password in it (postgres://user:secret@host/db)
// shows as "***".
std::string redacted_url(const std::string& url);

}  // namespace ok::store
