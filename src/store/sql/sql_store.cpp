#include "store/sql/sql_store.hpp"

#include "observability/log.hpp"
#include "store/sql/codec.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>

namespace ok::store::sql {
namespace {

namespace bj = boost::json;
constexpr std::size_t kMaxBatch = 256;

std::string proxy_urls_to_json(const std::vector<ProxyUrl>& urls) {
  bj::array a;
  for (const auto& u : urls) {
    bj::object o{{"host", u.host}, {"port", u.port}, {"protocol", u.protocol}};
    a.emplace_back(std::move(o));
  }
  return bj::serialize(a);
}

std::vector<ProxyUrl> proxy_urls_from_json(const std::string& text) {
  std::vector<ProxyUrl> out;
  const auto parsed = bj::parse(text);
  for (const auto& item : parsed.as_array()) {
    const auto& o = item.as_object();
    out.push_back({std::string(o.at("host").as_string()), o.at("port").to_number<std::int64_t>(),
                   std::string(o.at("protocol").as_string())});
  }
  return out;
}

std::size_t utf8_chars(std::string_view s) {
  std::size_t n = 0;
  for (char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

constexpr std::string_view kControlPlaneColumns =
    "id, org_id, name, description, cluster_type, auth_type, cloud_gateway, proxy_urls, labels, created_at, updated_at";

ControlPlane read_control_plane(Statement& s) {
  ControlPlane cp;
  cp.id = s.text(0);
  cp.org_id = s.text(1);
  cp.name = s.text(2);
  cp.description = s.text(3);
  cp.cluster_type = s.text(4);
  cp.auth_type = s.text(5);
  cp.cloud_gateway = s.integer(6) != 0;
  cp.proxy_urls = proxy_urls_from_json(s.text(7));
  cp.labels = labels_from_json(s.text(8));
  cp.created_at = s.integer(9);
  cp.updated_at = s.integer(10);
  return cp;
}

// One statement for all of a control plane's labels: on PostgreSQL each statement is a
// round trip of the one writer connection, and the writer waits for each in turn. (One
// cached statement per label count: at most 50.)
void insert_control_plane_labels(Connection& c, const ControlPlane& cp) {
  if (cp.labels.empty()) return;
  std::string sql = "INSERT INTO control_plane_labels (control_plane_id, org_id, key, value) VALUES (?, ?, ?, ?)";
  for (std::size_t i = 1; i < cp.labels.size(); ++i) sql += ", (?, ?, ?, ?)";
  Query insert(c, sql);
  int base = 0;
  for (const auto& [k, v] : cp.labels) {
    insert->bind(base + 1, cp.id).bind(base + 2, cp.org_id).bind(base + 3, k).bind(base + 4, v);
    base += 4;
  }
  insert->run();
}

void replace_control_plane_labels(Connection& c, const ControlPlane& cp) {
  Query clear(c, "DELETE FROM control_plane_labels WHERE control_plane_id = ?");
  clear->bind(1, cp.id).run();
  insert_control_plane_labels(c, cp);
}

}  // namespace

SqlStore::SqlStore(std::unique_ptr<Backend> backend, bool apply) : backend_(std::move(backend)) {
  dialect_ = &backend_->dialect();
  writer_ = backend_->connect();
  if (apply) backend_->apply_migrations(*writer_);
  writer_thread_ = std::thread([this] { writer_loop(); });
}

SqlStore::~SqlStore() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
}

SqlStore::ReaderLease SqlStore::reader() {
  while (true) {
    std::unique_ptr<Connection> c;
    {
      std::lock_guard lock(readers_mutex_);
      if (idle_readers_.empty()) break;
      c = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    }
    // One lost with its server (a restart) is dropped here rather than failing a request.
    if (!c->broken()) return ReaderLease(*this, std::move(c));
  }
  return ReaderLease(*this, backend_->connect());
}

void SqlStore::enqueue(WriteTask* task) {
  {
    std::lock_guard lock(queue_mutex_);
    queue_.push_back(task);
  }
  queue_cv_.notify_one();
}

void SqlStore::write(Change note, std::function<void(Connection&)> work) {
  WriteTask task{std::move(work), std::move(note), {}, false, {}};
  auto done = task.done.get_future();
  enqueue(&task);
  done.get();  // rethrows the write's own error, if any
}

void SqlStore::write_later(std::function<void(Connection&)> work) {
  enqueue(new WriteTask{std::move(work), {}, {}, true, {}});
}

void SqlStore::write_then(Change note, std::function<void(Connection&)> work, WriteDone done) {
  enqueue(new WriteTask{std::move(work), std::move(note), {}, true, std::move(done)});
}

void SqlStore::writer_loop() {
  std::vector<WriteTask*> batch;
  // Transaction control statements are prepared once: at hundreds of writes per batch,
  // parsing them every time shows up in profiles.
  auto run = [this](std::string_view sql) { Query(*writer_, sql)->run(); };
  while (true) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
    }
    // The transaction is opened before the batch is taken: on a shared database opening it
    // waits for other nodes' batches, and what arrives meanwhile joins this batch rather
    // than waiting for the next one (3 nodes on PostgreSQL wrote twice as many creates per
    // commit).
    std::exception_ptr batch_error;
    try {
      // A connection lost with its server (a restart) is replaced; until one can be made,
      // every batch fails with UnavailableError, and the next one tries again.
      if (!writer_ || writer_->broken()) writer_ = backend_->connect();
      backend_->begin_batch(*writer_);
    } catch (...) {
      batch_error = std::current_exception();
    }
    {
      std::lock_guard lock(queue_mutex_);
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    std::vector<std::exception_ptr> errors(batch.size());
    if (!batch_error) {
      try {
        std::vector<Change> notes;
        for (std::size_t i = 0; i < batch.size(); ++i) {
          backend_->next_savepoint(*writer_, i > 0);
          try {
            batch[i]->work(*writer_);
            const auto& note = batch[i]->note;
            if (!note.org_id.empty() && std::find(notes.begin(), notes.end(), note) == notes.end()) {
              notes.push_back(note);
            }
          } catch (...) {
            errors[i] = std::current_exception();
            run("ROLLBACK TO w");
          }
        }
        if (!notes.empty()) backend_->announce(*writer_, notes);
        run("COMMIT");
      } catch (...) {
        // A savepoint or COMMIT failed (disk full, read-only file, the connection lost):
        // nothing of this batch is durable, so every write in it fails.
        batch_error = std::current_exception();
        if (writer_ && !writer_->broken()) {
          try {
            writer_->exec("ROLLBACK");
          } catch (const std::exception&) {  // no transaction was open, or the connection went
          }
        }
      }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto error = batch_error ? batch_error : errors[i];
      if (batch[i]->on_done) {
        try {
          batch[i]->on_done(error);
        } catch (const std::exception& e) {
          observability::log_event(observability::Level::error, "write continuation failed", 0, e.what());
        }
        delete batch[i];
      } else if (batch[i]->detached) {
        if (error) {
          try {
            std::rethrow_exception(error);
          } catch (const std::exception& e) {
            observability::log_event(observability::Level::warn, "background write failed", 0, e.what());
          }
        }
        delete batch[i];
      } else if (error) {
        batch[i]->done.set_exception(error);
      } else {
        batch[i]->done.set_value();
      }
    }
    batch.clear();
  }
}

void SqlStore::ping() {
  auto c = reader();
  Query q(*c, "SELECT COUNT(*) FROM schema_migrations");
  q->step();
}

int SqlStore::schema_version() {
  auto c = reader();
  return backend_->schema_version(*c);
}

void SqlStore::bootstrap_organization(const OrganizationBootstrap& b) {
  write({b.organization.id}, [&](Connection& c) {
    const auto& o = b.organization;
    Query org(c,
              "INSERT INTO organizations (id, name, owner_id, login_path, state, retention_period_days, created_at, "
              "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    org->bind(1, o.id).bind(2, o.name).bind(3, o.owner_id).bind(4, o.login_path).bind(5, o.state);
    org->bind(6, o.retention_period_days).bind(7, o.created_at).bind(8, o.updated_at).run();

    const auto& u = b.admin;
    Query user(c,
               "INSERT INTO users (id, org_id, email, full_name, preferred_name, active, created_at, updated_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    user->bind(1, u.id).bind(2, u.org_id).bind(3, u.email).bind(4, u.full_name).bind(5, u.preferred_name);
    user->bind(6, u.active).bind(7, u.created_at).bind(8, u.updated_at).run();

    Query team(c,
               "INSERT INTO teams (id, org_id, name, description, system_team, labels, created_at, updated_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& t : b.system_teams) {
      team->bind(1, t.id).bind(2, t.org_id).bind(3, t.name).bind(4, t.description).bind(5, t.system_team);
      team->bind(6, labels_to_json(t.labels)).bind(7, t.created_at).bind(8, t.updated_at).run();
      team->reset();
    }
    Query role(c,
               "INSERT INTO role_assignments (id, org_id, principal_kind, principal_id, role_name, entity_type_name, "
               "entity_id, entity_region, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& r : b.team_roles) {
      role->bind(1, r.id).bind(2, r.org_id).bind(3, r.principal_kind).bind(4, r.principal_id).bind(5, r.role_name);
      role->bind(6, r.entity_type_name).bind(7, r.entity_id).bind(8, r.entity_region).bind(9, o.created_at).run();
      role->reset();
    }
    Query member(c,
                 "INSERT INTO team_members (team_id, org_id, principal_kind, principal_id, created_at) VALUES (?, ?, "
                 "'user', ?, ?)");
    member->bind(1, b.admin_team_id).bind(2, o.id).bind(3, u.id).bind(4, o.created_at).run();

    const auto& t = b.admin_token;
    Query token(c,
                "INSERT INTO access_tokens (id, org_id, owner_kind, owner_id, name, token_hash, expires_at, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    token->bind(1, t.id).bind(2, t.org_id).bind(3, kind_name(t.owner_kind)).bind(4, t.owner_id).bind(5, t.name);
    token->bind(6, t.token_hash).bind(7, t.expires_at).bind(8, t.created_at).bind(9, t.updated_at).run();
  });
}

std::optional<Organization> SqlStore::get_organization(const OrgId& org) {
  auto c = reader();
  Query q(*c,
          "SELECT id, name, owner_id, login_path, state, retention_period_days, created_at, updated_at FROM "
          "organizations WHERE id = ?");
  q->bind(1, org.str());
  if (!q->step()) return std::nullopt;
  return Organization{q->text(0), q->text(1),    q->text(2),    q->text(3),
                      q->text(4), q->integer(5), q->integer(6), q->integer(7)};
}

std::optional<TokenLookup> SqlStore::find_token_by_hash(const std::string& token_hash) {
  auto c = reader();
  Query q(*c,
          "SELECT t.id, t.org_id, t.owner_kind, t.owner_id, t.name, t.token_hash, t.expires_at, t.revoked_at, "
          "t.revoked_by, t.last_used_at, t.created_at, t.updated_at, "
          "CASE t.owner_kind WHEN 'user' THEN EXISTS (SELECT 1 FROM users u WHERE u.id = t.owner_id AND u.org_id = "
          "t.org_id) ELSE EXISTS (SELECT 1 FROM system_accounts s WHERE s.id = t.owner_id AND s.org_id = t.org_id) "
          "END FROM access_tokens t WHERE t.token_hash = ?");
  q->bind(1, token_hash);
  if (!q->step()) return std::nullopt;
  TokenLookup out;
  auto& t = out.token;
  t.id = q->text(0);
  t.org_id = q->text(1);
  t.owner_kind = q->text(2) == "user" ? PrincipalKind::user : PrincipalKind::system_account;
  t.owner_id = q->text(3);
  t.name = q->text(4);
  t.token_hash = q->text(5);
  t.expires_at = q->integer(6);
  if (!q->is_null(7)) t.revoked_at = q->integer(7);
  t.revoked_by = q->text(8);
  if (!q->is_null(9)) t.last_used_at = q->integer(9);
  t.created_at = q->integer(10);
  t.updated_at = q->integer(11);
  out.owner_exists = q->integer(12) != 0;
  return out;
}

std::vector<std::string> SqlStore::all_token_hashes() {
  auto c = reader();
  Query q(*c, "SELECT token_hash FROM access_tokens");
  std::vector<std::string> out;
  while (q->step()) out.push_back(q->text(0));
  return out;
}

std::optional<ChangeStamp> SqlStore::change_stamp() { return backend_->change_stamp(); }

void SqlStore::touch_token(const std::string& token_id, std::int64_t used_at) {
  write_later([token_id, used_at](Connection& c) {
    Query q(c, "UPDATE access_tokens SET last_used_at = ? WHERE id = ?");
    q->bind(1, used_at).bind(2, token_id).run();
  });
}

std::vector<RoleAssignment> SqlStore::effective_roles(const OrgId& org, const std::string& principal_kind,
                                                      const std::string& principal_id) {
  auto c = reader();
  Query q(*c,
          "SELECT id, org_id, principal_kind, principal_id, role_name, entity_type_name, entity_id, entity_region "
          "FROM role_assignments WHERE org_id = ? AND ((principal_kind = ? AND principal_id = ?) OR "
          "(principal_kind = 'team' AND principal_id IN (SELECT team_id FROM team_members WHERE org_id = ? AND "
          "principal_kind = ? AND principal_id = ?)))");
  q->bind(1, org.str()).bind(2, principal_kind).bind(3, principal_id);
  q->bind(4, org.str()).bind(5, principal_kind).bind(6, principal_id);
  std::vector<RoleAssignment> out;
  while (q->step()) {
    out.push_back({q->text(0), q->text(1), q->text(2), q->text(3), q->text(4), q->text(5), q->text(6), q->text(7)});
  }
  return out;
}

namespace {
void insert_control_plane_rows(Connection& c, const ControlPlane& cp, const std::vector<RoleAssignment>& grants) {
  // The name index's sequence number is given here: the insert trigger would otherwise
  // assign it with an UPDATE, writing the new row a second time.
  Query q(c, fmt::format("INSERT INTO control_planes ({}, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                         "(SELECT COALESCE(MAX(seq), 0) + 1 FROM control_planes))",
                         kControlPlaneColumns));
  q->bind(1, cp.id).bind(2, cp.org_id).bind(3, cp.name).bind(4, cp.description).bind(5, cp.cluster_type);
  q->bind(6, cp.auth_type).bind(7, cp.cloud_gateway).bind(8, proxy_urls_to_json(cp.proxy_urls));
  q->bind(9, labels_to_json(cp.labels)).bind(10, cp.created_at).bind(11, cp.updated_at).run();
  insert_control_plane_labels(c, cp);  // a new row has none to clear
  Query grant(c,
              "INSERT INTO role_assignments (id, org_id, principal_kind, principal_id, role_name, "
              "entity_type_name, entity_id, entity_region, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  for (const auto& r : grants) {
    grant->bind(1, r.id).bind(2, r.org_id).bind(3, r.principal_kind).bind(4, r.principal_id).bind(5, r.role_name);
    grant->bind(6, r.entity_type_name).bind(7, r.entity_id).bind(8, r.entity_region).bind(9, cp.created_at).run();
    grant->reset();
  }
}
}  // namespace

void SqlStore::insert_control_plane(const ControlPlane& cp, const std::vector<RoleAssignment>& grants) {
  write({cp.org_id, cp.id}, [&](Connection& c) { insert_control_plane_rows(c, cp, grants); });
}

void SqlStore::insert_control_plane_then(ControlPlane cp, std::vector<RoleAssignment> grants, WriteDone done) {
  Change note{cp.org_id, cp.id};
  write_then(
      std::move(note),
      [cp = std::move(cp), grants = std::move(grants)](Connection& c) { insert_control_plane_rows(c, cp, grants); },
      std::move(done));
}

std::optional<ControlPlane> SqlStore::get_control_plane(const OrgId& org, const std::string& id) {
  auto c = reader();
  Query q(*c, fmt::format("SELECT {} FROM control_planes WHERE org_id = ? AND id = ?", kControlPlaneColumns));
  q->bind(1, org.str()).bind(2, id);
  if (!q->step()) return std::nullopt;
  return read_control_plane(*q);
}

namespace {
// A substring filter goes through the trigram index, the costly part of such a list: the
// matches are computed once (their ids and creation times) and serve both the count and the
// page, instead of one evaluation for COUNT(*) and another for the rows.
Page<ControlPlane> page_of_substring_matches(Connection& c, const Where& where, std::string_view order,
                                             const PageRequest& page_request) {
  Query rows(c,
             fmt::format("WITH matches AS MATERIALIZED (SELECT id, created_at FROM control_planes WHERE {}) "
                         "SELECT {}, (SELECT COUNT(*) FROM matches) FROM control_planes WHERE id IN "
                         "(SELECT id FROM matches ORDER BY {} LIMIT ? OFFSET ?) ORDER BY {}",
                         where.sql(), kControlPlaneColumns, order, order),
             Query::Caching::uncached);
  const int next = where.bind(*rows);
  rows->bind(next, page_request.size);
  rows->bind(next + 1, (page_request.number - 1) * page_request.size);
  Page<ControlPlane> page;
  constexpr int kTotalColumn = 11;  // after the columns read_control_plane reads
  while (rows->step()) {
    page.total = rows->integer(kTotalColumn);
    page.items.push_back(read_control_plane(*rows));
  }
  if (page.items.empty() && page_request.number > 1) {
    // Past the last page: the rows carried no count, so count on its own (rare).
    Query count(c, "SELECT COUNT(*) FROM control_planes WHERE " + where.sql(), Query::Caching::uncached);
    where.bind(*count);
    count->step();
    page.total = count->integer(0);
  }
  return page;
}

std::int64_t control_plane_count(Connection& c, const OrgId& org) {
  Query count(c, "SELECT total FROM control_plane_counts WHERE org_id = ?");
  count->bind(1, org.str());
  return count->step() ? count->integer(0) : 0;
}

// Past this many control planes in an organization, a substring filter is led by the trigram
// index (one look-up per match, in any organization) rather than by a scan of the
// organization's rows (a test per row): measured on 100 000 rows, 1 % of them matching, the
// look-ups take 3 ms and the scan 25 ms. A term that matches most rows of a large database
// costs more led by the index (about 1 µs per match against 0.25 µs per scanned row).
constexpr std::int64_t kNameScanLimit = 10'000;
}  // namespace

Page<ControlPlane> SqlStore::list_control_planes(const OrgId& org, const ControlPlaneQuery& query) {
  auto c = reader();
  const bool name_index = std::any_of(query.name_contains.begin(), query.name_contains.end(),
                                      [](const std::string& v) { return utf8_chars(v) >= 3; });
  // "+org_id" keeps SQLite from choosing the organization's index to lead.
  const bool name_index_leads = name_index && control_plane_count(*c, org) > kNameScanLimit;
  Where where(dialect(), name_index_leads ? dialect().unindexed("org_id") + " = ?" : "org_id = ?", {org.str()});
  for (const auto& term : query.id_in) where.in("id", term);
  for (const auto& v : query.name_eq) where.add("name = ?", {v});
  for (const auto& v : query.name_contains) {
    // Substrings of three characters or more are found through the trigram index; the
    // exact test (every script's case folded) still decides.
    if (const auto prefilter = dialect().control_plane_name_prefilter(); utf8_chars(v) >= 3 && !prefilter.empty()) {
      where.add(prefilter, {v});
    }
    where.add(dialect().position(dialect().casefold("name"), dialect().casefold("?")) + " > 0", {v});
  }
  where.in("name", query.name_neq, true);
  for (const auto& term : query.cluster_type_in) where.in("cluster_type", term);
  where.in("cluster_type", query.cluster_type_neq, true);
  if (query.cloud_gateway) where.add(*query.cloud_gateway ? "cloud_gateway = 1" : "cloud_gateway = 0");
  for (const auto& [key, value] : query.labels) {
    if (value) {
      where.add(
          "EXISTS (SELECT 1 FROM control_plane_labels l WHERE l.control_plane_id = control_planes.id AND "
          "l.key = ? AND l.value = ?)",
          {key, *value});
    } else {
      where.add(
          "EXISTS (SELECT 1 FROM control_plane_labels l WHERE l.control_plane_id = control_planes.id AND "
          "l.key = ?)",
          {key});
    }
  }
  where.visible("id", query.visible_ids);
  const bool unfiltered = where.sql() == "org_id = ?";
  const char* order = query.newest_first ? "created_at DESC, id DESC" : "created_at, id";
  if (!query.name_contains.empty()) return page_of_substring_matches(*c, where, order, query.page);
  if (!unfiltered) {
    return paged_select<ControlPlane>(*c, kControlPlaneColumns, "control_planes", where, order, query.page,
                                      read_control_plane);
  }
  // The whole organization: its count is kept by triggers, so a page costs what it returns,
  // not what the organization holds.
  Page<ControlPlane> page = paged_select<ControlPlane>(*c, kControlPlaneColumns, "control_planes", where, order,
                                                       query.page, read_control_plane, /*count_rows=*/false);
  page.total = control_plane_count(*c, org);
  return page;
}

std::optional<ControlPlane> SqlStore::modify_control_plane(const OrgId& org, const std::string& id,
                                                           const Mutate<ControlPlane>& mutate) {
  std::optional<ControlPlane> result;
  write({org.str(), id}, [&](Connection& c) {
    Query read(c, fmt::format("SELECT {} FROM control_planes WHERE org_id = ? AND id = ?", kControlPlaneColumns));
    read->bind(1, org.str()).bind(2, id);
    if (!read->step()) return;
    ControlPlane cp = read_control_plane(*read);
    mutate(cp);
    Query q(c,
            "UPDATE control_planes SET name = ?, description = ?, auth_type = ?, proxy_urls = ?, labels = ?, "
            "updated_at = ? WHERE org_id = ? AND id = ?");
    q->bind(1, cp.name).bind(2, cp.description).bind(3, cp.auth_type).bind(4, proxy_urls_to_json(cp.proxy_urls));
    q->bind(5, labels_to_json(cp.labels)).bind(6, cp.updated_at).bind(7, org.str()).bind(8, id).run();
    replace_control_plane_labels(c, cp);
    result = std::move(cp);
  });
  return result;
}

bool SqlStore::delete_control_plane(const OrgId& org, const std::string& id) {
  bool found = false;
  write({org.str(), id}, [&](Connection& c) {
    Query members(c, "SELECT COUNT(*) FROM control_plane_group_members WHERE group_id = ?");
    members->bind(1, id);
    members->step();
    if (members->integer(0) > 0) throw InvariantError("group_not_empty");
    Query q(c, "DELETE FROM control_planes WHERE org_id = ? AND id = ?");
    q->bind(1, org.str()).bind(2, id).run();
    found = c.changes() > 0;
    if (found) {
      for (const char* table : {"config_entities", "config_unique", "config_references", "config_tags",
                                "dp_client_certificates", "data_plane_nodes"}) {
        Query config(c, fmt::format("DELETE FROM {} WHERE control_plane_id = ?", table));
        config->bind(1, id).run();
      }
      Query roles(c,
                  "DELETE FROM role_assignments WHERE org_id = ? AND entity_type_name = 'Control Planes' AND "
                  "entity_id = ?");
      roles->bind(1, org.str()).bind(2, id).run();
    }
  });
  return found;
}

std::vector<ControlPlane> SqlStore::find_control_planes(const OrgId& org, const std::vector<std::string>& ids) {
  if (ids.empty()) return {};
  Where where(dialect(), "org_id = ?", {org.str()});
  where.in("id", ids);
  auto c = reader();
  Query q(*c, fmt::format("SELECT {} FROM control_planes WHERE {}", kControlPlaneColumns, where.sql()),
          Query::Caching::uncached);
  where.bind(*q);
  std::vector<ControlPlane> out;
  while (q->step()) out.push_back(read_control_plane(*q));
  return out;
}

Page<ControlPlane> SqlStore::list_group_members(const OrgId& org, const std::string& group_id,
                                                const std::string& after_id, std::int64_t size) {
  auto c = reader();
  Page<ControlPlane> page;
  {
    Query count(*c, "SELECT COUNT(*) FROM control_plane_group_members WHERE org_id = ? AND group_id = ?");
    count->bind(1, org.str()).bind(2, group_id);
    count->step();
    page.total = count->integer(0);
  }
  Query q(*c, fmt::format("SELECT {} FROM control_planes WHERE org_id = ? AND id IN (SELECT member_id FROM "
                          "control_plane_group_members WHERE group_id = ?) AND id > ? ORDER BY id LIMIT ?",
                          kControlPlaneColumns));
  q->bind(1, org.str()).bind(2, group_id).bind(3, after_id).bind(4, size);
  while (q->step()) page.items.push_back(read_control_plane(*q));
  return page;
}

void SqlStore::change_group_members(const OrgId& org, const std::string& group_id, MembershipChange change,
                                    const std::vector<std::string>& member_ids, std::int64_t now) {
  write({org.str(), group_id}, [&](Connection& c) {
    Query group(c, "SELECT 1 FROM control_planes WHERE org_id = ? AND id = ?");
    group->bind(1, org.str()).bind(2, group_id);
    if (!group->step()) throw InvariantError("group_missing");  // deleted since the request loaded it
    if (change == MembershipChange::set) {
      Query clear(c, "DELETE FROM control_plane_group_members WHERE org_id = ? AND group_id = ?");
      clear->bind(1, org.str()).bind(2, group_id).run();
    }
    if (change == MembershipChange::remove) {
      Query remove(c, "DELETE FROM control_plane_group_members WHERE org_id = ? AND group_id = ? AND member_id = ?");
      for (const auto& id : member_ids) {
        remove->bind(1, org.str()).bind(2, group_id).bind(3, id).run();
        remove->reset();
      }
      return;
    }
    Query exists(c, "SELECT 1 FROM control_planes WHERE org_id = ? AND id = ?");
    Query insert(c,
                 "INSERT INTO control_plane_group_members (group_id, member_id, org_id, created_at) "
                 "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING");
    Query groups_of(c, "SELECT COUNT(*) FROM control_plane_group_members WHERE member_id = ?");
    for (const auto& id : member_ids) {
      exists->bind(1, org.str()).bind(2, id);
      const bool present = exists->step();
      exists->reset();
      if (!present) throw InvariantError("missing_reference:" + id);
      insert->bind(1, group_id).bind(2, id).bind(3, org.str()).bind(4, now).run();
      insert->reset();
      groups_of->bind(1, id);
      groups_of->step();
      const auto groups = groups_of->integer(0);
      groups_of->reset();
      if (static_cast<std::size_t>(groups) > kMaxGroupsPerMember) throw InvariantError("member_group_limit:" + id);
    }
    Query count(c, "SELECT COUNT(*) FROM control_plane_group_members WHERE group_id = ?");
    count->bind(1, group_id);
    count->step();
    if (static_cast<std::size_t>(count->integer(0)) > kMaxGroupMembers) throw InvariantError("group_full");
  });
}

bool SqlStore::is_group_member(const OrgId& org, const std::string& control_plane_id) {
  auto c = reader();
  Query q(*c, "SELECT 1 FROM control_plane_group_members WHERE org_id = ? AND member_id = ? LIMIT 1");
  q->bind(1, org.str()).bind(2, control_plane_id);
  return q->step();
}

}  // namespace ok::store::sql
