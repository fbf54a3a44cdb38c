#pragma once
// What the data-plane side persists: the client certificates pinned to a control plane, the
// data-plane nodes that connected to it, and the cluster listener's own TLS identity.
//
// Every call but two takes a Scope (an organization's control plane). The two exceptions
// serve the cluster listener, which learns whose a connection is only from the certificate it
// presents: certificates_matching() looks across organizations, and cluster_identity() is the
// installation's own key pair.

#include "store/entity_store.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ok::store {

struct DpCertificate {
  std::string id;
  std::string org_id;
  std::string control_plane_id;
  std::string cert;  // PEM, as given
  std::optional<std::string> title;
  std::string fingerprint;  // hex SHA-256 of the DER certificate
  std::string subject;      // hex of the DER subject name: a CA is found by its clients' issuer
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct DataPlaneNode {
  std::string id;  // the data plane's node_id
  std::string org_id;
  std::string control_plane_id;
  std::string version;
  std::string hostname;
  std::string ip;
  std::string type = "kong-proxy";
  std::string config_hash = std::string(32, '0');
  std::string sync_status = "unknown";  // Kong's names: normal, kong_version_incompatible …
  std::string labels = "{}";            // JSON object, from basic_info
  std::string compatibility = "{}";     // JSON: {state, issues[]} as the API shows it
  std::string last_error = "null";      // JSON: the data plane's last error report, or null
  std::optional<std::int64_t> cert_expiry;  // the client certificate's notAfter, epoch seconds
  std::int64_t last_ping = 0;              // epoch seconds
  std::int64_t created_at = 0;             // epoch seconds
  std::int64_t updated_at = 0;
};

struct NodePage {
  std::vector<DataPlaneNode> items;
  std::int64_t total = 0;
  bool more = false;
};

class DataPlaneStore {
 public:
  virtual ~DataPlaneStore() = default;

  virtual std::vector<DpCertificate> certificates(const Scope& scope) = 0;
  virtual std::optional<DpCertificate> certificate(const Scope& scope, const std::string& id) = 0;
  // Inserts or replaces (by id).
  virtual void put_certificate(const Scope& scope, const DpCertificate& certificate) = 0;
  virtual bool remove_certificate(const Scope& scope, const std::string& id) = 0;
  // In every organization: the pins of this exact certificate, and the certificates whose
  // subject is `issuer` (the CAs that may have signed it). The cluster listener then keeps only
  // what the owning control plane's auth_type allows.
  virtual std::vector<DpCertificate> certificates_matching(const std::string& fingerprint,
                                                           const std::string& issuer) = 0;

  // Inserts or updates a node. Returns at once: node records follow pings, and a ping must not
  // wait for a disk flush. Failures are logged.
  virtual void record_node(const Scope& scope, DataPlaneNode node) = 0;
  virtual std::optional<DataPlaneNode> node(const Scope& scope, const std::string& id) = 0;
  // Nodes by id, after `after_id`.
  virtual NodePage nodes(const Scope& scope, std::int64_t size, const std::string& after_id) = 0;
  virtual bool remove_node(const Scope& scope, const std::string& id) = 0;
  // Removes the nodes of every organization last seen before `seen_before` (epoch seconds).
  virtual std::size_t purge_nodes(std::int64_t seen_before) = 0;

  // The cluster listener's certificate chain and key (PEM): the stored pair, or else the one
  // `generate` makes, stored first so that every later start (and every node) presents it.
  virtual std::pair<std::string, std::string> cluster_identity(
      const std::function<std::pair<std::string, std::string>()>& generate) = 0;
};

}  // namespace ok::store
