#pragma once
// The embedded SQLite backend.
//
// Concurrency: reads use a small pool of connections (WAL lets them run beside a writer).
// Writes go to one writer thread that commits them in groups: every write waiting when a
// batch starts runs in one transaction, each inside its own savepoint, so one failing write
// does not undo the others and N concurrent writes cost one fsync instead of N.

#include "store/sqlite/connection.hpp"
#include "store/store.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace ok::store::sqlite {

class SqliteStore final : public Store {
 public:
  // `path` is a file path. Throws UnavailableError if the database cannot be opened.
  SqliteStore(std::string path, bool apply_migrations);
  ~SqliteStore() override;

  void ping() override;
  int schema_version() override;

  void bootstrap_organization(const OrganizationBootstrap& bootstrap) override;
  std::optional<Organization> get_organization(const OrgId& org) override;

  std::optional<TokenLookup> find_token_by_hash(const std::string& token_hash) override;
  void touch_token(const std::string& token_id, std::int64_t used_at) override;

  std::optional<User> get_user(const OrgId& org, const std::string& user_id) override;
  std::vector<RoleAssignment> effective_roles(const OrgId& org, const std::string& principal_kind,
                                              const std::string& principal_id) override;

  void insert_control_plane(const ControlPlane& cp) override;
  std::optional<ControlPlane> get_control_plane(const OrgId& org, const std::string& id) override;
  Page<ControlPlane> list_control_planes(const OrgId& org, const ControlPlaneQuery& query) override;
  bool update_control_plane(const ControlPlane& cp) override;
  bool delete_control_plane(const OrgId& org, const std::string& id) override;

 private:
  class ReaderLease;
  ReaderLease reader();

  // Runs `work` on the writer thread inside a transaction; returns once it is durable.
  void write(std::function<void(Connection&)> work);
  void writer_loop();

  std::string path_;

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;

  struct WriteTask {
    std::function<void(Connection&)> work;
    std::promise<void> done;
  };
  std::unique_ptr<Connection> writer_;
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<WriteTask*> queue_;
  bool stopping_ = false;
  std::thread writer_thread_;
};

}  // namespace ok::store::sqlite
