#pragma once
// The DataPlaneStore of the SQL store (migration 5).

#include "store/data_plane_store.hpp"

namespace ok::store::sql {

class SqlStore;

class SqlDataPlaneStore final : public DataPlaneStore {
 public:
  explicit SqlDataPlaneStore(SqlStore& db) : db_(db) {}

  std::vector<DpCertificate> certificates(const Scope& scope) override;
  std::optional<DpCertificate> certificate(const Scope& scope, const std::string& id) override;
  void put_certificate(const Scope& scope, const DpCertificate& certificate) override;
  bool remove_certificate(const Scope& scope, const std::string& id) override;
  std::vector<DpCertificate> certificates_matching(const std::string& fingerprint, const std::string& issuer) override;

  void record_node(const Scope& scope, DataPlaneNode node) override;
  std::optional<DataPlaneNode> node(const Scope& scope, const std::string& id) override;
  NodePage nodes(const Scope& scope, std::int64_t size, const std::string& after_id) override;
  bool remove_node(const Scope& scope, const std::string& id) override;
  std::size_t purge_nodes(std::int64_t seen_before) override;

  std::pair<std::string, std::string> cluster_identity(
      const std::function<std::pair<std::string, std::string>()>& generate) override;

 private:
  SqlStore& db_;
};

}  // namespace ok::store::sql
