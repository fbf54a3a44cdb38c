#include "store/sqlite/migrations.hpp"

#include "util/ids.hpp"

namespace ok::store::sqlite {

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
      {1, "organizations, identity and control planes", R"sql(
CREATE TABLE organizations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  owner_id TEXT NOT NULL DEFAULT '',
  login_path TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT 'active',
  retention_period_days INTEGER NOT NULL DEFAULT 90,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  email TEXT NOT NULL,
  full_name TEXT NOT NULL DEFAULT '',
  preferred_name TEXT NOT NULL DEFAULT '',
  active INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (org_id, email)
);

CREATE TABLE system_accounts (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  konnect_managed INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (org_id, name)
);

CREATE TABLE teams (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  description TEXT,
  system_team INTEGER NOT NULL DEFAULT 0,
  labels TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX teams_org ON teams (org_id, created_at);

CREATE TABLE team_members (
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  principal_kind TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
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
  created_at INTEGER NOT NULL,
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
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  revoked_by TEXT NOT NULL DEFAULT '',
  last_used_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX access_tokens_owner ON access_tokens (org_id, owner_kind, owner_id);

CREATE TABLE control_planes (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  cluster_type TEXT NOT NULL,
  auth_type TEXT NOT NULL,
  cloud_gateway INTEGER NOT NULL DEFAULT 0,
  proxy_urls TEXT NOT NULL DEFAULT '[]',
  labels TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
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
  created_at INTEGER NOT NULL,
  PRIMARY KEY (group_id, member_id)
);
CREATE INDEX control_plane_group_members_member ON control_plane_group_members (member_id);
)sql"},
      {2, "token names unique per owner", R"sql(
CREATE UNIQUE INDEX access_tokens_owner_name ON access_tokens (owner_kind, owner_id, name);
)sql"},
      {3, "control plane counts and a trigram index of names", R"sql(
CREATE TABLE control_plane_counts (
  org_id TEXT PRIMARY KEY,
  total INTEGER NOT NULL
);
INSERT INTO control_plane_counts (org_id, total) SELECT org_id, COUNT(*) FROM control_planes GROUP BY org_id;
CREATE TRIGGER control_planes_count_insert AFTER INSERT ON control_planes BEGIN
  INSERT INTO control_plane_counts (org_id, total) VALUES (NEW.org_id, 1)
    ON CONFLICT (org_id) DO UPDATE SET total = total + 1;
END;
CREATE TRIGGER control_planes_count_delete AFTER DELETE ON control_planes BEGIN
  UPDATE control_plane_counts SET total = total - 1 WHERE org_id = OLD.org_id;
END;

-- A stable sequence number per control plane keys the trigram index (rowids are not stable:
-- VACUUM may renumber them).
ALTER TABLE control_planes ADD COLUMN seq INTEGER;
UPDATE control_planes SET seq = rowid;
CREATE UNIQUE INDEX control_planes_seq ON control_planes (seq);
CREATE VIRTUAL TABLE control_plane_names USING fts5 (name, content = '', tokenize = 'trigram');
INSERT INTO control_plane_names (rowid, name) SELECT seq, name FROM control_planes;
-- The sequence number is assigned here, so every way a row arrives (the server, an import,
-- a tool writing to the file) gets one and lands in the index.
CREATE TRIGGER control_planes_names_insert AFTER INSERT ON control_planes BEGIN
  UPDATE control_planes SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM control_planes)
    WHERE rowid = NEW.rowid AND NEW.seq IS NULL;
  INSERT INTO control_plane_names (rowid, name) SELECT seq, name FROM control_planes WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER control_planes_names_delete AFTER DELETE ON control_planes BEGIN
  INSERT INTO control_plane_names (control_plane_names, rowid, name) VALUES ('delete', OLD.seq, OLD.name);
END;
CREATE TRIGGER control_planes_names_update AFTER UPDATE OF name ON control_planes BEGIN
  INSERT INTO control_plane_names (control_plane_names, rowid, name) VALUES ('delete', OLD.seq, OLD.name);
  INSERT INTO control_plane_names (rowid, name) VALUES (NEW.seq, NEW.name);
END;
)sql"},
      {4, "gateway configuration entities of every type", R"sql(
-- Every entity type shares these four tables (store/entity_store.hpp): the entity as its JSON,
-- and what the store enforces for it. unique_keys and tags repeat, as JSON arrays, the rows the
-- entity owns in config_unique and config_tags, so that they can be removed exactly.
CREATE TABLE config_entities (
  control_plane_id TEXT NOT NULL,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  unique_keys TEXT NOT NULL DEFAULT '[]',
  tags TEXT NOT NULL DEFAULT '[]'
);
-- Pages walk this index in id order (keyset pagination).
CREATE UNIQUE INDEX config_entities_key ON config_entities (control_plane_id, type, id);

CREATE TABLE config_unique (
  control_plane_id TEXT NOT NULL,
  type TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (control_plane_id, type, key, value)
) WITHOUT ROWID;

CREATE TABLE config_references (
  control_plane_id TEXT NOT NULL,
  parent_type TEXT NOT NULL,
  parent_id TEXT NOT NULL,
  child_type TEXT NOT NULL,
  child_id TEXT NOT NULL,
  field TEXT NOT NULL,
  on_delete INTEGER NOT NULL,
  PRIMARY KEY (control_plane_id, parent_type, parent_id, child_type, child_id, field)
) WITHOUT ROWID;
CREATE INDEX config_references_child ON config_references (control_plane_id, child_type, child_id);

CREATE TABLE config_tags (
  control_plane_id TEXT NOT NULL,
  type TEXT NOT NULL,
  tag TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (control_plane_id, type, tag, id)
) WITHOUT ROWID;
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
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX dp_client_certificates_cp ON dp_client_certificates (control_plane_id, created_at, id);
-- The cluster listener's lookups, across organizations: a pinned leaf, or a CA by subject.
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
  cert_expiry INTEGER,
  last_ping INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (control_plane_id, id)
) WITHOUT ROWID;
CREATE INDEX data_plane_nodes_last_ping ON data_plane_nodes (last_ping);

CREATE TABLE cluster_identity (
  name TEXT PRIMARY KEY,
  certificate TEXT NOT NULL,
  private_key TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
)sql"},
      {6, "audit logs: each organization's settings, the signing keys", R"sql(
CREATE TABLE audit_settings (
  org_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, kind)
);

CREATE TABLE audit_signing_keys (
  kid TEXT PRIMARY KEY,
  private_pem TEXT NOT NULL,
  public_raw TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER
);
)sql"},
      {7, "audit logs: the records in blocks of consecutive ones per organization, the journals read", R"sql(
CREATE TABLE audit_records (
  seq INTEGER PRIMARY KEY,
  last_seq INTEGER NOT NULL,
  org_id TEXT NOT NULL,
  first_ts INTEGER NOT NULL,
  last_ts INTEGER NOT NULL,
  entries TEXT NOT NULL
);
CREATE INDEX audit_records_org_seq ON audit_records (org_id, last_seq);

CREATE TABLE audit_journals (
  journal TEXT PRIMARY KEY,
  read_to INTEGER NOT NULL
);
)sql"},
  };
  return all;
}

int current_version(sql::Connection& connection) {
  connection.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
      "applied_at INTEGER NOT NULL)");
  sql::Query q(connection, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  q->step();
  return static_cast<int>(q->integer(0));
}

int apply_migrations(SqliteConnection& connection) {
  int applied = 0;
  for (const auto& migration : migrations()) {
    // Re-read inside the write lock so two processes starting together apply each once.
    connection.exec("BEGIN IMMEDIATE");
    try {
      if (current_version(connection) >= migration.version) {
        connection.exec("COMMIT");
        continue;
      }
      connection.exec(migration.sql);
      sql::Query record(connection,
                        "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)");
      record->bind(1, migration.version).bind(2, migration.description).bind(3, util::now_ms()).run();
      connection.exec("COMMIT");
      ++applied;
    } catch (...) {
      sqlite3_exec(connection.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  return applied;
}

}  // namespace ok::store::sqlite
