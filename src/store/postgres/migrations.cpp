#include "store/postgres/migrations.hpp"

#include "util/ids.hpp"

#include <fmt/format.h>

namespace ok::store::postgres {

// SQLite's INTEGER is 64-bit: every one is a BIGINT here (epoch milliseconds overflow an
// INTEGER), booleans included, so the store's `active = 1` means the same on both.
const std::vector<PgMigration>& pg_migrations() {
  static const std::vector<PgMigration> all = {
      {1, "organizations, identity and control planes", R"sql(
CREATE TABLE organizations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  owner_id TEXT NOT NULL DEFAULT '',
  login_path TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT 'active',
  retention_period_days BIGINT NOT NULL DEFAULT 90,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  email TEXT NOT NULL,
  full_name TEXT NOT NULL DEFAULT '',
  preferred_name TEXT NOT NULL DEFAULT '',
  active BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (org_id, email)
);

CREATE TABLE system_accounts (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  konnect_managed BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (org_id, name)
);

CREATE TABLE teams (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  description TEXT,
  system_team BIGINT NOT NULL DEFAULT 0,
  labels TEXT NOT NULL DEFAULT '{}',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX teams_org ON teams (org_id, created_at);

CREATE TABLE team_members (
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  principal_kind TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (team_id, principal_kind, principal_id)
);
CREATE INDEX team_members_principal ON team_members (principal_kind, principal_id);

CREATE TABLE role_assignments (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  principal_kind TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  role_name TEXT NOT NULL,
  entity_type_name TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  entity_region TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (principal_kind, principal_id, role_name, entity_type_name, entity_id, entity_region)
);
CREATE INDEX role_assignments_principal ON role_assignments (org_id, principal_kind, principal_id);

CREATE TABLE access_tokens (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  owner_kind TEXT NOT NULL,
  owner_id TEXT NOT NULL,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revoked_by TEXT NOT NULL DEFAULT '',
  last_used_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX access_tokens_owner ON access_tokens (org_id, owner_kind, owner_id);

CREATE TABLE control_planes (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  cluster_type TEXT NOT NULL,
  auth_type TEXT NOT NULL,
  cloud_gateway BIGINT NOT NULL DEFAULT 0,
  proxy_urls TEXT NOT NULL DEFAULT '[]',
  labels TEXT NOT NULL DEFAULT '{}',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (org_id, name)
);
CREATE INDEX control_planes_org_created ON control_planes (org_id, created_at, id);

CREATE TABLE control_plane_labels (
  control_plane_id TEXT NOT NULL REFERENCES control_planes(id) ON DELETE CASCADE,
  org_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (control_plane_id, key)
);
CREATE INDEX control_plane_labels_lookup ON control_plane_labels (org_id, key, value);

CREATE TABLE control_plane_group_members (
  group_id TEXT NOT NULL REFERENCES control_planes(id) ON DELETE CASCADE,
  member_id TEXT NOT NULL REFERENCES control_planes(id) ON DELETE CASCADE,
  org_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (group_id, member_id)
);
CREATE INDEX control_plane_group_members_member ON control_plane_group_members (member_id);
)sql"},
      {2, "token names unique per owner", R"sql(
CREATE UNIQUE INDEX access_tokens_owner_name ON access_tokens (owner_kind, owner_id, name);
)sql"},
      // SQLite's trigram index of names (control_plane_names) has no counterpart: the store's
      // name filter runs its exact test alone here (PgDialect::control_plane_name_prefilter).
      {3, "control plane counts and a trigram index of names", R"sql(
CREATE TABLE control_plane_counts (
  org_id TEXT PRIMARY KEY,
  total BIGINT NOT NULL
);
INSERT INTO control_plane_counts (org_id, total) SELECT org_id, COUNT(*) FROM control_planes GROUP BY org_id;
CREATE FUNCTION control_planes_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO control_plane_counts (org_id, total) VALUES (NEW.org_id, 1)
    ON CONFLICT (org_id) DO UPDATE SET total = control_plane_counts.total + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER control_planes_count_insert AFTER INSERT ON control_planes
  FOR EACH ROW EXECUTE FUNCTION control_planes_count_insert();
CREATE FUNCTION control_planes_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE control_plane_counts SET total = total - 1 WHERE org_id = OLD.org_id;
  RETURN NULL;
END $$;
CREATE TRIGGER control_planes_count_delete AFTER DELETE ON control_planes
  FOR EACH ROW EXECUTE FUNCTION control_planes_count_delete();

-- The same stable sequence number as in SQLite, numbered in creation order, and assigned to
-- every row that arrives without one.
ALTER TABLE control_planes ADD COLUMN seq BIGINT;
UPDATE control_planes SET seq = numbered.n
  FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM control_planes) numbered
  WHERE control_planes.id = numbered.id;
CREATE UNIQUE INDEX control_planes_seq ON control_planes (seq);
CREATE FUNCTION control_planes_seq_assign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.seq IS NULL THEN
    NEW.seq := (SELECT COALESCE(MAX(seq), 0) + 1 FROM control_planes);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER control_planes_seq_assign BEFORE INSERT ON control_planes
  FOR EACH ROW EXECUTE FUNCTION control_planes_seq_assign();
)sql"},
      {4, "gateway configuration entities of every type", R"sql(
-- See SQLite's migration 4: one set of tables for every entity type.
CREATE TABLE config_entities (
  control_plane_id TEXT NOT NULL,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  unique_keys TEXT NOT NULL DEFAULT '[]',
  tags TEXT NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX config_entities_key ON config_entities (control_plane_id, type, id);

CREATE TABLE config_unique (
  control_plane_id TEXT NOT NULL,
  type TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (control_plane_id, type, key, value)
);

CREATE TABLE config_references (
  control_plane_id TEXT NOT NULL,
  parent_type TEXT NOT NULL,
  parent_id TEXT NOT NULL,
  child_type TEXT NOT NULL,
  child_id TEXT NOT NULL,
  field TEXT NOT NULL,
  on_delete BIGINT NOT NULL,
  PRIMARY KEY (control_plane_id, parent_type, parent_id, child_type, child_id, field)
);
CREATE INDEX config_references_child ON config_references (control_plane_id, child_type, child_id);

CREATE TABLE config_tags (
  control_plane_id TEXT NOT NULL,
  type TEXT NOT NULL,
  tag TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (control_plane_id, type, tag, id)
);
)sql"},
      {5, "data planes: pinned client certificates, nodes, the cluster identity", R"sql(
CREATE TABLE dp_client_certificates (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  control_plane_id TEXT NOT NULL,
  cert TEXT NOT NULL,
  title TEXT,
  fingerprint TEXT NOT NULL,
  subject TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX dp_client_certificates_cp ON dp_client_certificates (control_plane_id, created_at, id);
CREATE INDEX dp_client_certificates_fingerprint ON dp_client_certificates (fingerprint);
CREATE INDEX dp_client_certificates_subject ON dp_client_certificates (subject);

CREATE TABLE data_plane_nodes (
  control_plane_id TEXT NOT NULL,
  id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  version TEXT NOT NULL,
  hostname TEXT NOT NULL,
  ip TEXT NOT NULL,
  type TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  sync_status TEXT NOT NULL,
  labels TEXT NOT NULL,
  compatibility TEXT NOT NULL,
  last_error TEXT NOT NULL,
  cert_expiry BIGINT,
  last_ping BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (control_plane_id, id)
);
CREATE INDEX data_plane_nodes_last_ping ON data_plane_nodes (last_ping);

CREATE TABLE cluster_identity (
  name TEXT PRIMARY KEY,
  certificate TEXT NOT NULL,
  private_key TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
)sql"},
      {6, "audit logs: each organization's settings, the signing keys", R"sql(
CREATE TABLE audit_settings (
  org_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, kind)
);

CREATE TABLE audit_signing_keys (
  kid TEXT PRIMARY KEY,
  private_pem TEXT NOT NULL,
  public_raw TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  retired_at BIGINT
);
)sql"},
      {7, "audit logs: the records in blocks of consecutive ones per organization, the journals read", R"sql(
CREATE TABLE audit_records (
  seq BIGINT PRIMARY KEY,
  last_seq BIGINT NOT NULL,
  org_id TEXT NOT NULL,
  first_ts BIGINT NOT NULL,
  last_ts BIGINT NOT NULL,
  entries TEXT NOT NULL
);
CREATE INDEX audit_records_org_seq ON audit_records (org_id, last_seq);

CREATE TABLE audit_journals (
  journal TEXT PRIMARY KEY,
  read_to BIGINT NOT NULL
);
)sql"},
  };
  return all;
}

int pg_schema_version(sql::Connection& connection) {
  sql::Query exists(connection, "SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists->step() || exists->integer(0) == 0) return 0;
  sql::Query q(connection, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  q->step();
  return static_cast<int>(q->integer(0));
}

int apply_pg_migrations(sql::Connection& connection) {
  if (pg_schema_version(connection) >= pg_migrations().back().version) return 0;
  int applied = 0;
  for (const auto& migration : pg_migrations()) {
    // Another process applying the same migrations waits for the lock, then reads the
    // version this one recorded.
    try {
      connection.exec(fmt::format("BEGIN; SELECT pg_advisory_xact_lock({})", kPgWriteLock));
      connection.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, "
          "applied_at BIGINT NOT NULL)");
      if (pg_schema_version(connection) >= migration.version) {
        connection.exec("COMMIT");
        continue;
      }
      connection.exec(migration.sql);
      sql::Query record(connection, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                        sql::Query::Caching::uncached);
      record->bind(1, migration.version).bind(2, migration.description).bind(3, util::now_ms()).run();
      connection.exec("COMMIT");
      ++applied;
    } catch (...) {
      try {
        connection.exec("ROLLBACK");
      } catch (...) {  // the connection is gone: the server rolled back
      }
      throw;
    }
  }
  return applied;
}

}  // namespace ok::store::postgres
