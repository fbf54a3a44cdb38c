#pragma once
// The store, written once in SQL over a Backend (store/sqlite/, store/postgres/).
//
// Concurrency: reads use a small pool of connections. Writes go to one writer thread that
// commits them in groups: every write waiting when a batch starts runs in one transaction,
// each inside its own savepoint, so one failing write does not undo the others and N
// concurrent writes cost one commit (one fsync) instead of N. The backend makes each batch
// the database's only writer while it runs, across processes and nodes too, so the checks a
// write makes inside its transaction hold when it commits.

#include "store/sql/backend.hpp"
#include "store/sql/connection.hpp"
#include "store/sql/audit_store.hpp"
#include "store/sql/data_plane_store.hpp"
#include "store/sql/entity_store.hpp"
#include "store/store.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace ok::store::sql {

class SqlStore final : public Store {
 public:
  // Throws UnavailableError if the database cannot be reached.
  SqlStore(std::unique_ptr<Backend> backend, bool apply_migrations);
  ~SqlStore() override;

  void ping() override;
  int schema_version() override;

  void bootstrap_organization(const OrganizationBootstrap& bootstrap) override;
  std::optional<Organization> get_organization(const OrgId& org) override;

  std::optional<TokenLookup> find_token_by_hash(const std::string& token_hash) override;
  std::vector<std::string> all_token_hashes() override;
  std::optional<ChangeStamp> change_stamp() override;
  std::optional<std::int64_t> memory_in_use() override { return backend_->memory_in_use(); }
  void touch_token(const std::string& token_id, std::int64_t used_at) override;

  void insert_user(const User& user) override;
  std::optional<User> get_user(const OrgId& org, const std::string& user_id) override;
  std::optional<User> find_user_by_email(const OrgId& org, const std::string& email) override;
  Page<User> list_users(const OrgId& org, const UserQuery& query) override;
  std::optional<User> modify_user(const OrgId& org, const std::string& id, const Mutate<User>& mutate) override;
  bool delete_user(const OrgId& org, const std::string& user_id, const std::string& protected_team_id) override;

  void insert_team(const Team& team) override;
  std::optional<Team> get_team(const OrgId& org, const std::string& team_id) override;
  std::optional<Team> find_team_by_name(const OrgId& org, const std::string& name) override;
  Page<Team> list_teams(const OrgId& org, const TeamQuery& query) override;
  std::optional<Team> modify_team(const OrgId& org, const std::string& id, const Mutate<Team>& mutate) override;
  bool delete_team(const OrgId& org, const std::string& team_id) override;
  void add_team_member(const OrgId& org, const std::string& team_id, const std::string& principal_kind,
                       const std::string& principal_id, std::int64_t now) override;
  bool remove_team_member(const OrgId& org, const std::string& team_id, const std::string& principal_kind,
                          const std::string& principal_id, const std::string& protected_team_id) override;
  bool is_team_member(const OrgId& org, const std::string& team_id, const std::string& principal_kind,
                      const std::string& principal_id) override;

  void insert_role_assignment(const RoleAssignment& assignment) override;
  std::vector<RoleAssignment> list_role_assignments(const OrgId& org, const std::string& principal_kind,
                                                    const std::string& principal_id,
                                                    const RoleAssignmentQuery& query) override;
  std::optional<RoleAssignment> get_role_assignment(const OrgId& org, const std::string& principal_kind,
                                                    const std::string& principal_id,
                                                    const std::string& assignment_id) override;
  bool delete_role_assignment(const OrgId& org, const std::string& principal_kind, const std::string& principal_id,
                              const std::string& assignment_id) override;

  void insert_system_account(const SystemAccount& account) override;
  std::optional<SystemAccount> get_system_account(const OrgId& org, const std::string& id) override;
  Page<SystemAccount> list_system_accounts(const OrgId& org, const SystemAccountQuery& query) override;
  std::optional<SystemAccount> modify_system_account(const OrgId& org, const std::string& id,
                                                     const Mutate<SystemAccount>& mutate) override;
  bool delete_system_account(const OrgId& org, const std::string& id) override;

  void insert_token(const AccessToken& token, std::size_t max_per_owner) override;
  std::optional<AccessToken> get_token(const OrgId& org, PrincipalKind owner_kind, const std::string& owner_id,
                                       const std::string& token_id) override;
  Page<AccessToken> list_tokens(const OrgId& org, PrincipalKind owner_kind, const std::string& owner_id,
                                const TokenQuery& query) override;
  std::optional<AccessToken> modify_token(const OrgId& org, PrincipalKind owner_kind, const std::string& owner_id,
                                          const std::string& token_id, const Mutate<AccessToken>& mutate) override;
  bool delete_token(const OrgId& org, PrincipalKind owner_kind, const std::string& owner_id,
                    const std::string& token_id) override;
  std::vector<RoleAssignment> effective_roles(const OrgId& org, const std::string& principal_kind,
                                              const std::string& principal_id) override;

  void insert_control_plane(const ControlPlane& cp, const std::vector<RoleAssignment>& grants) override;
  void insert_control_plane_then(ControlPlane cp, std::vector<RoleAssignment> grants, WriteDone done) override;
  std::optional<ControlPlane> get_control_plane(const OrgId& org, const std::string& id) override;
  Page<ControlPlane> list_control_planes(const OrgId& org, const ControlPlaneQuery& query) override;
  std::optional<ControlPlane> modify_control_plane(const OrgId& org, const std::string& id,
                                                   const Mutate<ControlPlane>& mutate) override;
  bool delete_control_plane(const OrgId& org, const std::string& id) override;
  std::vector<ControlPlane> find_control_planes(const OrgId& org, const std::vector<std::string>& ids) override;
  Page<ControlPlane> list_group_members(const OrgId& org, const std::string& group_id, const std::string& after_id,
                                        std::int64_t size) override;
  void change_group_members(const OrgId& org, const std::string& group_id, MembershipChange change,
                            const std::vector<std::string>& member_ids, std::int64_t now) override;
  bool is_group_member(const OrgId& org, const std::string& control_plane_id) override;

  EntityStore& entities() override { return entities_; }
  DataPlaneStore& data_planes() override { return data_planes_; }
  AuditStore& audit() override { return audit_; }
  bool listen(ChangeListener* listener) override { return backend_->listen(listener); }

  // The backend's SQL spellings (see sql::Dialect).
  const Dialect& dialect() const { return *dialect_; }

 private:
  friend class SqlEntityStore;
  friend class SqlDataPlaneStore;
  friend class SqlAuditStore;

  // A pooled read connection, returned to the pool when the lease ends (unless it broke).
  class ReaderLease {
   public:
    ReaderLease(SqlStore& store, std::unique_ptr<Connection> c) : store_(store), c_(std::move(c)) {}
    ReaderLease(ReaderLease&&) = default;
    ~ReaderLease() {
      if (!c_ || c_->broken()) return;
      std::lock_guard lock(store_.readers_mutex_);
      store_.idle_readers_.push_back(std::move(c_));
    }
    Connection& operator*() { return *c_; }

   private:
    SqlStore& store_;
    std::unique_ptr<Connection> c_;
  };
  ReaderLease reader();

  // Runs `work` on the writer thread inside a transaction; returns once it is durable. `note`
  // is what other nodes hear of it when it commits (nothing when its org_id is empty).
  void write(Change note, std::function<void(Connection&)> work);
  void write(std::function<void(Connection&)> work) { write({}, std::move(work)); }
  // Queues `work` for the writer and returns at once; its errors are logged.
  void write_later(std::function<void(Connection&)> work);
  // Queues `work` for the writer and returns at once; `done` hears how it ended.
  void write_then(Change note, std::function<void(Connection&)> work, WriteDone done);
  void write_then(std::function<void(Connection&)> work, WriteDone done) {
    write_then({}, std::move(work), std::move(done));
  }
  void writer_loop();

  std::unique_ptr<Backend> backend_;
  const Dialect* dialect_ = nullptr;
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;

  struct WriteTask {
    std::function<void(Connection&)> work;
    Change note;
    std::promise<void> done;  // for write(): the caller waits on it
    bool detached = false;    // nobody waits: the writer deletes it (write_later, write_then)
    WriteDone on_done;        // for write_then()
  };
  void enqueue(WriteTask* task);
  std::unique_ptr<Connection> writer_;
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<WriteTask*> queue_;
  bool stopping_ = false;
  std::thread writer_thread_;
  SqlEntityStore entities_{*this};
  SqlDataPlaneStore data_planes_{*this};
  SqlAuditStore audit_{*this};
};

}  // namespace ok::store::sql
