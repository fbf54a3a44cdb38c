// The SQLite store's identity tables: users, teams and memberships, role assignments,
// system accounts and access tokens.

#include "store/sql/codec.hpp"
#include "store/sql/sql_store.hpp"

#include <chrono>

namespace ok::store::sql {
namespace {

constexpr std::string_view kUserColumns =
    "id, org_id, email, full_name, preferred_name, active, created_at, updated_at";
constexpr std::string_view kTeamColumns = "id, org_id, name, description, system_team, labels, created_at, updated_at";
constexpr std::string_view kRoleColumns =
    "id, org_id, principal_kind, principal_id, role_name, entity_type_name, entity_id, entity_region";
constexpr std::string_view kAccountColumns = "id, org_id, name, description, konnect_managed, created_at, updated_at";
constexpr std::string_view kTokenColumns =
    "id, org_id, owner_kind, owner_id, name, token_hash, expires_at, revoked_at, revoked_by, last_used_at, created_at, "
    "updated_at";

User read_user(Statement& s) {
  return User{s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.integer(5) != 0, s.integer(6), s.integer(7)};
}

Team read_team(Statement& s) {
  Team t;
  t.id = s.text(0);
  t.org_id = s.text(1);
  t.name = s.text(2);
  if (!s.is_null(3)) t.description = s.text(3);
  t.system_team = s.integer(4) != 0;
  t.labels = labels_from_json(s.text(5));
  t.created_at = s.integer(6);
  t.updated_at = s.integer(7);
  return t;
}

RoleAssignment read_role(Statement& s) {
  return RoleAssignment{s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7)};
}

SystemAccount read_account(Statement& s) {
  return SystemAccount{s.text(0), s.text(1), s.text(2), s.text(3), s.integer(4) != 0, s.integer(5), s.integer(6)};
}

AccessToken read_token(Statement& s) {
  AccessToken t;
  t.id = s.text(0);
  t.org_id = s.text(1);
  t.owner_kind = s.text(2) == "user" ? PrincipalKind::user : PrincipalKind::system_account;
  t.owner_id = s.text(3);
  t.name = s.text(4);
  t.token_hash = s.text(5);
  t.expires_at = s.integer(6);
  if (!s.is_null(7)) t.revoked_at = s.integer(7);
  t.revoked_by = s.text(8);
  if (!s.is_null(9)) t.last_used_at = s.integer(9);
  t.created_at = s.integer(10);
  t.updated_at = s.integer(11);
  return t;
}

std::int64_t count_members(Connection& c, const std::string& team_id) {
  Query q(c, "SELECT COUNT(*) FROM team_members WHERE team_id = ? AND principal_kind = 'user'");
  q->bind(1, team_id);
  q->step();
  return q->integer(0);
}

bool is_member(Connection& c, const std::string& team_id, const std::string& kind, const std::string& id) {
  Query q(c, "SELECT 1 FROM team_members WHERE team_id = ? AND principal_kind = ? AND principal_id = ?");
  q->bind(1, team_id).bind(2, kind).bind(3, id);
  return q->step();
}

// Removes everything that refers to a principal (memberships, roles, tokens).
void delete_principal_refs(Connection& c, const std::string& kind, const std::string& id) {
  Query members(c, "DELETE FROM team_members WHERE principal_kind = ? AND principal_id = ?");
  members->bind(1, kind).bind(2, id).run();
  Query roles(c, "DELETE FROM role_assignments WHERE principal_kind = ? AND principal_id = ?");
  roles->bind(1, kind).bind(2, id).run();
  Query tokens(c, "DELETE FROM access_tokens WHERE owner_kind = ? AND owner_id = ?");
  tokens->bind(1, kind).bind(2, id).run();
}

std::int64_t now_milliseconds() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

// --- users

void SqlStore::insert_user(const User& u) {
  write({u.org_id}, [&](Connection& c) {
    Query q(c,
            "INSERT INTO users (id, org_id, email, full_name, preferred_name, active, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    q->bind(1, u.id).bind(2, u.org_id).bind(3, u.email).bind(4, u.full_name).bind(5, u.preferred_name);
    q->bind(6, u.active).bind(7, u.created_at).bind(8, u.updated_at).run();
  });
}

std::optional<User> SqlStore::get_user(const OrgId& org, const std::string& user_id) {
  auto c = reader();
  Query q(*c,
          "SELECT id, org_id, email, full_name, preferred_name, active, created_at, updated_at FROM users "
          "WHERE org_id = ? AND id = ?");
  q->bind(1, org.str()).bind(2, user_id);
  if (!q->step()) return std::nullopt;
  return read_user(*q);
}

std::optional<User> SqlStore::find_user_by_email(const OrgId& org, const std::string& email) {
  auto c = reader();
  Query q(*c,
          "SELECT id, org_id, email, full_name, preferred_name, active, created_at, updated_at FROM users "
          "WHERE org_id = ? AND email = ?");
  q->bind(1, org.str()).bind(2, email);
  if (!q->step()) return std::nullopt;
  return read_user(*q);
}

Page<User> SqlStore::list_users(const OrgId& org, const UserQuery& query) {
  Where where(dialect(), "org_id = ?", {org.str()});
  where.in("id", query.id_eq);
  where.string_filter("email", query.email);
  where.string_filter("full_name", query.full_name);
  if (query.active) where.add(*query.active ? "active = 1" : "active = 0");
  if (query.team_id) {
    where.add("id IN (SELECT principal_id FROM team_members WHERE team_id = ? AND principal_kind = 'user')",
              {*query.team_id});
  }
  where.visible("id", query.visible_ids);
  auto c = reader();
  return paged_select<User>(*c, kUserColumns, "users", where, "created_at, id", query.page, read_user);
}

std::optional<User> SqlStore::modify_user(const OrgId& org, const std::string& id, const Mutate<User>& mutate) {
  std::optional<User> result;
  write({org.str()}, [&](Connection& c) {
    Query read(c,
               "SELECT id, org_id, email, full_name, preferred_name, active, created_at, updated_at FROM users "
               "WHERE org_id = ? AND id = ?");
    read->bind(1, org.str()).bind(2, id);
    if (!read->step()) return;
    User u = read_user(*read);
    mutate(u);
    Query q(c, "UPDATE users SET full_name = ?, preferred_name = ?, updated_at = ? WHERE org_id = ? AND id = ?");
    q->bind(1, u.full_name).bind(2, u.preferred_name).bind(3, u.updated_at).bind(4, org.str()).bind(5, id).run();
    result = std::move(u);
  });
  return result;
}

bool SqlStore::delete_user(const OrgId& org, const std::string& user_id, const std::string& protected_team_id) {
  bool found = false;
  write({org.str()}, [&](Connection& c) {
    if (!protected_team_id.empty() && is_member(c, protected_team_id, "user", user_id) &&
        count_members(c, protected_team_id) <= 1) {
      throw InvariantError("last_admin");
    }
    Query q(c, "DELETE FROM users WHERE org_id = ? AND id = ?");
    q->bind(1, org.str()).bind(2, user_id).run();
    found = c.changes() > 0;
    if (found) {
      delete_principal_refs(c, "user", user_id);
      // An organization whose owner leaves passes to its longest-standing admin.
      Query owner(c,
                  "UPDATE organizations SET owner_id = COALESCE((SELECT principal_id FROM team_members WHERE "
                  "team_id = ? AND principal_kind = 'user' ORDER BY created_at, principal_id LIMIT 1), '') "
                  "WHERE id = ? AND owner_id = ?");
      owner->bind(1, protected_team_id).bind(2, org.str()).bind(3, user_id).run();
    }
  });
  return found;
}

// --- teams

void SqlStore::insert_team(const Team& t) {
  write({t.org_id}, [&](Connection& c) {
    Query q(c,
            "INSERT INTO teams (id, org_id, name, description, system_team, labels, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    q->bind(1, t.id).bind(2, t.org_id).bind(3, t.name).bind(4, t.description).bind(5, t.system_team);
    q->bind(6, labels_to_json(t.labels)).bind(7, t.created_at).bind(8, t.updated_at).run();
  });
}

std::optional<Team> SqlStore::get_team(const OrgId& org, const std::string& team_id) {
  auto c = reader();
  Query q(*c,
          "SELECT id, org_id, name, description, system_team, labels, created_at, updated_at FROM teams WHERE "
          "org_id = ? AND id = ?");
  q->bind(1, org.str()).bind(2, team_id);
  if (!q->step()) return std::nullopt;
  return read_team(*q);
}

std::optional<Team> SqlStore::find_team_by_name(const OrgId& org, const std::string& name) {
  auto c = reader();
  Query q(*c,
          "SELECT id, org_id, name, description, system_team, labels, created_at, updated_at FROM teams WHERE "
          "org_id = ? AND name = ? ORDER BY system_team DESC, created_at LIMIT 1");
  q->bind(1, org.str()).bind(2, name);
  if (!q->step()) return std::nullopt;
  return read_team(*q);
}

Page<Team> SqlStore::list_teams(const OrgId& org, const TeamQuery& query) {
  Where where(dialect(), "org_id = ?", {org.str()});
  where.string_filter("name", query.name);
  const auto& d = dialect();
  const auto label = d.json_member("labels", "?");
  for (const auto& [k, v] : query.label_eq) where.add(label + " = ?", {k, v});
  for (const auto& [k, v] : query.label_contains) {
    where.add(d.position(d.casefold(label), d.casefold("?")) + " > 0", {k, v});
  }
  for (const auto& k : query.label_exists) where.add(label + " IS NOT NULL", {k});
  if (query.member) {
    where.add("id IN (SELECT team_id FROM team_members WHERE principal_kind = ? AND principal_id = ?)",
              {query.member->first, query.member->second});
  }
  where.visible("id", query.visible_ids);
  auto c = reader();
  return paged_select<Team>(*c, kTeamColumns, "teams", where, "created_at, id", query.page, read_team);
}

std::optional<Team> SqlStore::modify_team(const OrgId& org, const std::string& id, const Mutate<Team>& mutate) {
  std::optional<Team> result;
  write({org.str()}, [&](Connection& c) {
    Query read(c,
               "SELECT id, org_id, name, description, system_team, labels, created_at, updated_at FROM teams "
               "WHERE org_id = ? AND id = ? AND system_team = 0");
    read->bind(1, org.str()).bind(2, id);
    if (!read->step()) return;
    Team t = read_team(*read);
    mutate(t);
    Query q(c, "UPDATE teams SET name = ?, description = ?, labels = ?, updated_at = ? WHERE org_id = ? AND id = ?");
    q->bind(1, t.name).bind(2, t.description).bind(3, labels_to_json(t.labels)).bind(4, t.updated_at);
    q->bind(5, org.str()).bind(6, id).run();
    result = std::move(t);
  });
  return result;
}

bool SqlStore::delete_team(const OrgId& org, const std::string& team_id) {
  bool found = false;
  write({org.str()}, [&](Connection& c) {
    Query q(c, "DELETE FROM teams WHERE org_id = ? AND id = ? AND system_team = 0");
    q->bind(1, org.str()).bind(2, team_id).run();
    found = c.changes() > 0;
    if (found) {
      Query roles(c, "DELETE FROM role_assignments WHERE principal_kind = 'team' AND principal_id = ?");
      roles->bind(1, team_id).run();
    }
  });
  return found;
}

void SqlStore::add_team_member(const OrgId& org, const std::string& team_id, const std::string& principal_kind,
                               const std::string& principal_id, std::int64_t now) {
  write({org.str()}, [&](Connection& c) {
    Query q(c,
            "INSERT INTO team_members (team_id, org_id, principal_kind, principal_id, created_at) VALUES (?, ?, ?, "
            "?, ?)");
    q->bind(1, team_id).bind(2, org.str()).bind(3, principal_kind).bind(4, principal_id).bind(5, now).run();
  });
}

bool SqlStore::remove_team_member(const OrgId& org, const std::string& team_id, const std::string& principal_kind,
                                  const std::string& principal_id, const std::string& protected_team_id) {
  bool found = false;
  write({org.str()}, [&](Connection& c) {
    if (team_id == protected_team_id && principal_kind == "user" && is_member(c, team_id, "user", principal_id) &&
        count_members(c, team_id) <= 1) {
      throw InvariantError("last_admin");
    }
    Query q(c, "DELETE FROM team_members WHERE org_id = ? AND team_id = ? AND principal_kind = ? AND principal_id = ?");
    q->bind(1, org.str()).bind(2, team_id).bind(3, principal_kind).bind(4, principal_id).run();
    found = c.changes() > 0;
  });
  return found;
}

bool SqlStore::is_team_member(const OrgId& org, const std::string& team_id, const std::string& principal_kind,
                              const std::string& principal_id) {
  auto c = reader();
  Query q(*c,
          "SELECT 1 FROM team_members WHERE org_id = ? AND team_id = ? AND principal_kind = ? AND principal_id = ?");
  q->bind(1, org.str()).bind(2, team_id).bind(3, principal_kind).bind(4, principal_id);
  return q->step();
}

// --- role assignments

void SqlStore::insert_role_assignment(const RoleAssignment& r) {
  write({r.org_id}, [&](Connection& c) {
    Query q(c,
            "INSERT INTO role_assignments (id, org_id, principal_kind, principal_id, role_name, entity_type_name, "
            "entity_id, entity_region, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q->bind(1, r.id).bind(2, r.org_id).bind(3, r.principal_kind).bind(4, r.principal_id).bind(5, r.role_name);
    q->bind(6, r.entity_type_name).bind(7, r.entity_id).bind(8, r.entity_region).bind(9, now_milliseconds()).run();
  });
}

std::vector<RoleAssignment> SqlStore::list_role_assignments(const OrgId& org, const std::string& principal_kind,
                                                            const std::string& principal_id,
                                                            const RoleAssignmentQuery& query) {
  Where where(dialect(), "org_id = ?", {org.str()});
  where.add("principal_kind = ? AND principal_id = ?", {principal_kind, principal_id});
  where.in("entity_id", query.entity_id);
  where.in("role_name", query.role_name);
  where.in("entity_type_name", query.entity_type_name);
  auto c = reader();
  Query q(*c,
          std::string("SELECT ") + std::string(kRoleColumns) + " FROM role_assignments WHERE " + where.sql() +
              " ORDER BY created_at, id",
          Query::Caching::uncached);
  where.bind(*q);
  std::vector<RoleAssignment> out;
  while (q->step()) out.push_back(read_role(*q));
  return out;
}

std::optional<RoleAssignment> SqlStore::get_role_assignment(const OrgId& org, const std::string& principal_kind,
                                                            const std::string& principal_id,
                                                            const std::string& assignment_id) {
  auto c = reader();
  Query q(*c,
          "SELECT id, org_id, principal_kind, principal_id, role_name, entity_type_name, entity_id, entity_region "
          "FROM role_assignments WHERE org_id = ? AND principal_kind = ? AND principal_id = ? AND id = ?");
  q->bind(1, org.str()).bind(2, principal_kind).bind(3, principal_id).bind(4, assignment_id);
  if (!q->step()) return std::nullopt;
  return read_role(*q);
}

bool SqlStore::delete_role_assignment(const OrgId& org, const std::string& principal_kind,
                                      const std::string& principal_id, const std::string& assignment_id) {
  bool found = false;
  write({org.str()}, [&](Connection& c) {
    Query q(c, "DELETE FROM role_assignments WHERE org_id = ? AND principal_kind = ? AND principal_id = ? AND id = ?");
    q->bind(1, org.str()).bind(2, principal_kind).bind(3, principal_id).bind(4, assignment_id).run();
    found = c.changes() > 0;
  });
  return found;
}

// --- system accounts

void SqlStore::insert_system_account(const SystemAccount& a) {
  write({a.org_id}, [&](Connection& c) {
    Query q(c,
            "INSERT INTO system_accounts (id, org_id, name, description, konnect_managed, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)");
    q->bind(1, a.id).bind(2, a.org_id).bind(3, a.name).bind(4, a.description).bind(5, a.konnect_managed);
    q->bind(6, a.created_at).bind(7, a.updated_at).run();
  });
}

std::optional<SystemAccount> SqlStore::get_system_account(const OrgId& org, const std::string& id) {
  auto c = reader();
  Query q(*c,
          "SELECT id, org_id, name, description, konnect_managed, created_at, updated_at FROM system_accounts "
          "WHERE org_id = ? AND id = ?");
  q->bind(1, org.str()).bind(2, id);
  if (!q->step()) return std::nullopt;
  return read_account(*q);
}

Page<SystemAccount> SqlStore::list_system_accounts(const OrgId& org, const SystemAccountQuery& query) {
  Where where(dialect(), "org_id = ?", {org.str()});
  where.string_filter("name", query.name);
  where.string_filter("description", query.description);
  if (query.konnect_managed) where.add(*query.konnect_managed ? "konnect_managed = 1" : "konnect_managed = 0");
  if (query.team_id) {
    where.add("id IN (SELECT principal_id FROM team_members WHERE team_id = ? AND principal_kind = 'system_account')",
              {*query.team_id});
  }
  where.visible("id", query.visible_ids);
  auto c = reader();
  return paged_select<SystemAccount>(*c, kAccountColumns, "system_accounts", where, "created_at, id", query.page,
                                     read_account);
}

std::optional<SystemAccount> SqlStore::modify_system_account(const OrgId& org, const std::string& id,
                                                             const Mutate<SystemAccount>& mutate) {
  std::optional<SystemAccount> result;
  write({org.str()}, [&](Connection& c) {
    Query read(c,
               "SELECT id, org_id, name, description, konnect_managed, created_at, updated_at FROM system_accounts "
               "WHERE org_id = ? AND id = ?");
    read->bind(1, org.str()).bind(2, id);
    if (!read->step()) return;
    SystemAccount a = read_account(*read);
    mutate(a);
    Query q(c, "UPDATE system_accounts SET name = ?, description = ?, updated_at = ? WHERE org_id = ? AND id = ?");
    q->bind(1, a.name).bind(2, a.description).bind(3, a.updated_at).bind(4, org.str()).bind(5, id).run();
    result = std::move(a);
  });
  return result;
}

bool SqlStore::delete_system_account(const OrgId& org, const std::string& id) {
  bool found = false;
  write({org.str()}, [&](Connection& c) {
    Query q(c, "DELETE FROM system_accounts WHERE org_id = ? AND id = ?");
    q->bind(1, org.str()).bind(2, id).run();
    found = c.changes() > 0;
    if (found) delete_principal_refs(c, "system_account", id);
  });
  return found;
}

// --- tokens

void SqlStore::insert_token(const AccessToken& t, std::size_t max_per_owner) {
  write({t.org_id}, [&](Connection& c) {
    const auto kind = kind_name(t.owner_kind);
    if (max_per_owner > 0) {
      Query count(c, "SELECT COUNT(*) FROM access_tokens WHERE owner_kind = ? AND owner_id = ?");
      count->bind(1, kind).bind(2, t.owner_id);
      count->step();
      if (static_cast<std::size_t>(count->integer(0)) >= max_per_owner) throw InvariantError("token_limit");
    }
    Query q(c,
            "INSERT INTO access_tokens (id, org_id, owner_kind, owner_id, name, token_hash, expires_at, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q->bind(1, t.id).bind(2, t.org_id).bind(3, kind).bind(4, t.owner_id).bind(5, t.name).bind(6, t.token_hash);
    q->bind(7, t.expires_at).bind(8, t.created_at).bind(9, t.updated_at).run();
    if (t.owner_kind == PrincipalKind::user) {
      Query activate(c, "UPDATE users SET active = 1 WHERE id = ? AND active = 0");
      activate->bind(1, t.owner_id).run();
    }
  });
}

std::optional<AccessToken> SqlStore::get_token(const OrgId& org, PrincipalKind owner_kind, const std::string& owner_id,
                                               const std::string& token_id) {
  auto c = reader();
  Query q(*c,
          "SELECT id, org_id, owner_kind, owner_id, name, token_hash, expires_at, revoked_at, revoked_by, "
          "last_used_at, created_at, updated_at FROM access_tokens WHERE org_id = ? AND owner_kind = ? AND "
          "owner_id = ? AND id = ?");
  q->bind(1, org.str()).bind(2, kind_name(owner_kind)).bind(3, owner_id).bind(4, token_id);
  if (!q->step()) return std::nullopt;
  return read_token(*q);
}

Page<AccessToken> SqlStore::list_tokens(const OrgId& org, PrincipalKind owner_kind, const std::string& owner_id,
                                        const TokenQuery& query) {
  Where where(dialect(), "org_id = ?", {org.str()});
  where.add("owner_kind = ? AND owner_id = ?", {kind_name(owner_kind), owner_id});
  where.string_filter("name", query.name);
  auto c = reader();
  return paged_select<AccessToken>(*c, kTokenColumns, "access_tokens", where, "created_at, id", query.page, read_token);
}

std::optional<AccessToken> SqlStore::modify_token(const OrgId& org, PrincipalKind owner_kind,
                                                  const std::string& owner_id, const std::string& token_id,
                                                  const Mutate<AccessToken>& mutate) {
  std::optional<AccessToken> result;
  write({org.str()}, [&](Connection& c) {
    Query read(c,
               "SELECT id, org_id, owner_kind, owner_id, name, token_hash, expires_at, revoked_at, revoked_by, "
               "last_used_at, created_at, updated_at FROM access_tokens WHERE org_id = ? AND owner_kind = ? AND "
               "owner_id = ? AND id = ?");
    read->bind(1, org.str()).bind(2, kind_name(owner_kind)).bind(3, owner_id).bind(4, token_id);
    if (!read->step()) return;
    AccessToken t = read_token(*read);
    mutate(t);
    Query q(c, "UPDATE access_tokens SET name = ?, revoked_at = ?, revoked_by = ?, updated_at = ? WHERE id = ?");
    q->bind(1, t.name).bind(2, t.revoked_at).bind(3, t.revoked_by).bind(4, t.updated_at).bind(5, token_id).run();
    result = std::move(t);
  });
  return result;
}

bool SqlStore::delete_token(const OrgId& org, PrincipalKind owner_kind, const std::string& owner_id,
                            const std::string& token_id) {
  bool found = false;
  write({org.str()}, [&](Connection& c) {
    Query q(c, "DELETE FROM access_tokens WHERE org_id = ? AND owner_kind = ? AND owner_id = ? AND id = ?");
    q->bind(1, org.str()).bind(2, kind_name(owner_kind)).bind(3, owner_id).bind(4, token_id).run();
    found = c.changes() > 0;
  });
  return found;
}

}  // namespace ok::store::sql
