#include "store/sql/data_plane_store.hpp"

#include "observability/log.hpp"
#include "store/sql/sql_store.hpp"
#include "util/ids.hpp"
#include "util/utf8.hpp"

#include <fmt/format.h>

namespace ok::store::sql {
namespace {

constexpr std::string_view kCertificateColumns =
    "id, org_id, control_plane_id, cert, title, fingerprint, subject, created_at, updated_at";

DpCertificate read_certificate(const Statement& s) {
  DpCertificate c;
  c.id = s.text(0);
  c.org_id = s.text(1);
  c.control_plane_id = s.text(2);
  c.cert = s.text(3);
  if (!s.is_null(4)) c.title = s.text(4);
  c.fingerprint = s.text(5);
  c.subject = s.text(6);
  c.created_at = s.integer(7);
  c.updated_at = s.integer(8);
  return c;
}

constexpr std::string_view kNodeColumns =
    "id, org_id, control_plane_id, version, hostname, ip, type, config_hash, sync_status, labels, compatibility, "
    "last_error, cert_expiry, last_ping, created_at, updated_at";

DataPlaneNode read_node(const Statement& s) {
  DataPlaneNode n;
  n.id = s.text(0);
  n.org_id = s.text(1);
  n.control_plane_id = s.text(2);
  n.version = s.text(3);
  n.hostname = s.text(4);
  n.ip = s.text(5);
  n.type = s.text(6);
  n.config_hash = s.text(7);
  n.sync_status = s.text(8);
  n.labels = s.text(9);
  n.compatibility = s.text(10);
  n.last_error = s.text(11);
  if (!s.is_null(12)) n.cert_expiry = s.integer(12);
  n.last_ping = s.integer(13);
  n.created_at = s.integer(14);
  n.updated_at = s.integer(15);
  return n;
}

}  // namespace

std::vector<DpCertificate> SqlDataPlaneStore::certificates(const Scope& scope) {
  auto c = db_.reader();
  Query q(*c, fmt::format("SELECT {} FROM dp_client_certificates WHERE org_id = ? AND control_plane_id = ? ORDER BY "
                          "created_at, id",
                          kCertificateColumns));
  q->bind(1, scope.org().str()).bind(2, scope.control_plane_id());
  std::vector<DpCertificate> out;
  while (q->step()) out.push_back(read_certificate(*q));
  return out;
}

std::optional<DpCertificate> SqlDataPlaneStore::certificate(const Scope& scope, const std::string& id) {
  auto c = db_.reader();
  Query q(*c, fmt::format("SELECT {} FROM dp_client_certificates WHERE org_id = ? AND control_plane_id = ? AND id = ?",
                          kCertificateColumns));
  q->bind(1, scope.org().str()).bind(2, scope.control_plane_id()).bind(3, id);
  if (!q->step()) return std::nullopt;
  return read_certificate(*q);
}

void SqlDataPlaneStore::put_certificate(const Scope& scope, const DpCertificate& cert) {
  db_.write({scope.org().str(), scope.control_plane_id()}, [&](Connection& c) {
    Query q(c,
            "INSERT INTO dp_client_certificates (id, org_id, control_plane_id, cert, title, fingerprint, subject, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET cert = "
            "excluded.cert, title = excluded.title, fingerprint = excluded.fingerprint, subject = excluded.subject, "
            "updated_at = excluded.updated_at WHERE dp_client_certificates.org_id = excluded.org_id AND "
            "dp_client_certificates.control_plane_id = excluded.control_plane_id");
    q->bind(1, cert.id).bind(2, scope.org().str()).bind(3, scope.control_plane_id()).bind(4, cert.cert);
    q->bind(5, cert.title).bind(6, cert.fingerprint).bind(7, cert.subject).bind(8, cert.created_at);
    q->bind(9, cert.updated_at).run();
  });
}

bool SqlDataPlaneStore::remove_certificate(const Scope& scope, const std::string& id) {
  bool found = false;
  db_.write({scope.org().str(), scope.control_plane_id()}, [&](Connection& c) {
    Query q(c, "DELETE FROM dp_client_certificates WHERE org_id = ? AND control_plane_id = ? AND id = ?");
    q->bind(1, scope.org().str()).bind(2, scope.control_plane_id()).bind(3, id).run();
    found = c.changes() > 0;
  });
  return found;
}

std::vector<DpCertificate> SqlDataPlaneStore::certificates_matching(const std::string& fingerprint,
                                                                    const std::string& issuer) {
  auto c = db_.reader();
  Query q(*c, fmt::format("SELECT {} FROM dp_client_certificates WHERE fingerprint = ? OR subject = ? ORDER BY id",
                          kCertificateColumns));
  q->bind(1, fingerprint).bind(2, issuer);
  std::vector<DpCertificate> out;
  while (q->step()) out.push_back(read_certificate(*q));
  return out;
}

void SqlDataPlaneStore::record_node(const Scope& scope, DataPlaneNode node) {
  node.org_id = scope.org().str();
  node.control_plane_id = scope.control_plane_id();
  db_.write_then(
      [node = std::move(node)](Connection& c) {
        // created_at survives: the first sighting of a node is when it was created.
        Query q(c,
                "INSERT INTO data_plane_nodes (id, org_id, control_plane_id, version, hostname, ip, type, config_hash, "
                "sync_status, labels, compatibility, last_error, cert_expiry, last_ping, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (control_plane_id, id) DO UPDATE "
                "SET version = excluded.version, hostname = excluded.hostname, ip = excluded.ip, type = "
                "excluded.type, config_hash = excluded.config_hash, sync_status = excluded.sync_status, labels = "
                "excluded.labels, compatibility = excluded.compatibility, last_error = excluded.last_error, "
                "cert_expiry = excluded.cert_expiry, last_ping = excluded.last_ping, updated_at = "
                "excluded.updated_at",
                Query::Caching::cached);
        q->bind(1, node.id).bind(2, node.org_id).bind(3, node.control_plane_id).bind(4, node.version);
        q->bind(5, node.hostname).bind(6, node.ip).bind(7, node.type).bind(8, node.config_hash);
        q->bind(9, node.sync_status).bind(10, node.labels).bind(11, node.compatibility).bind(12, node.last_error);
        q->bind(13, node.cert_expiry).bind(14, node.last_ping).bind(15, node.created_at).bind(16, node.updated_at);
        q->run();
      },
      [](std::exception_ptr error) {
        if (!error) return;
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          observability::log_event(observability::Level::warn, "recording a data-plane node failed", 0, e.what());
        }
      });
}

std::optional<DataPlaneNode> SqlDataPlaneStore::node(const Scope& scope, const std::string& id) {
  if (!util::is_utf8(id)) return std::nullopt;  // names no node (see get_entity)
  auto c = db_.reader();
  Query q(*c, fmt::format("SELECT {} FROM data_plane_nodes WHERE control_plane_id = ? AND org_id = ? AND id = ?",
                          kNodeColumns));
  q->bind(1, scope.control_plane_id()).bind(2, scope.org().str()).bind(3, id);
  if (!q->step()) return std::nullopt;
  return read_node(*q);
}

NodePage SqlDataPlaneStore::nodes(const Scope& scope, std::int64_t size, const std::string& after_id) {
  auto c = db_.reader();
  NodePage page;
  {
    Query count(*c, "SELECT COUNT(*) FROM data_plane_nodes WHERE control_plane_id = ? AND org_id = ?");
    count->bind(1, scope.control_plane_id()).bind(2, scope.org().str());
    count->step();
    page.total = count->integer(0);
  }
  Query q(*c, fmt::format("SELECT {} FROM data_plane_nodes WHERE control_plane_id = ? AND org_id = ? AND id > ? "
                          "ORDER BY id LIMIT ?",
                          kNodeColumns));
  q->bind(1, scope.control_plane_id()).bind(2, scope.org().str()).bind(3, after_id).bind(4, size + 1);
  while (q->step()) {
    if (static_cast<std::int64_t>(page.items.size()) == size) {
      page.more = true;
      break;
    }
    page.items.push_back(read_node(*q));
  }
  return page;
}

bool SqlDataPlaneStore::remove_node(const Scope& scope, const std::string& id) {
  bool found = false;
  db_.write([&](Connection& c) {
    Query q(c, "DELETE FROM data_plane_nodes WHERE control_plane_id = ? AND org_id = ? AND id = ?");
    q->bind(1, scope.control_plane_id()).bind(2, scope.org().str()).bind(3, id).run();
    found = c.changes() > 0;
  });
  return found;
}

std::size_t SqlDataPlaneStore::purge_nodes(std::int64_t seen_before) {
  std::size_t removed = 0;
  db_.write([&](Connection& c) {
    Query q(c, "DELETE FROM data_plane_nodes WHERE last_ping < ?");
    q->bind(1, seen_before).run();
    removed = static_cast<std::size_t>(c.changes());
  });
  return removed;
}

std::pair<std::string, std::string> SqlDataPlaneStore::cluster_identity(
    const std::function<std::pair<std::string, std::string>()>& generate) {
  {
    auto c = db_.reader();
    Query q(*c, "SELECT certificate, private_key FROM cluster_identity WHERE name = 'cluster'");
    if (q->step()) return {q->text(0), q->text(1)};
  }
  auto made = generate();
  std::pair<std::string, std::string> kept;
  // Two nodes starting together may both generate one: the first stored wins for both.
  db_.write([&](Connection& c) {
    Query insert(
        c,
        "INSERT INTO cluster_identity (name, certificate, private_key, created_at) VALUES ('cluster', ?, ?, ?) "
        "ON CONFLICT (name) DO NOTHING");
    insert->bind(1, made.first).bind(2, made.second).bind(3, util::now_ms()).run();
    Query q(c, "SELECT certificate, private_key FROM cluster_identity WHERE name = 'cluster'");
    q->step();
    kept = {q->text(0), q->text(1)};
  });
  return kept;
}

}  // namespace ok::store::sql
