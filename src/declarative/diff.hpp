#pragma once
// What a sync must do to make a control plane's configuration the one a decK file describes:
// the file's entities matched to what the control plane holds (by id, else by endpoint key,
// else by the entity's unique fields — a plugin by its name and what it applies to), each
// filled with its defaults by the same schema the server validates with, so that a field the
// file leaves out is no change; what differs is an update, what is missing a create, what the
// control plane holds beyond the file a removal.
//
// Creates get their ids here, so that the file's children can name new parents by id, and every
// reference in a body is an id. Upserts come parents first (in the registry's order), removals
// children first.

#include "declarative/deck_file.hpp"

#include <functional>
#include <string>
#include <vector>

namespace ok::api::config {
struct ConfigEntity;
}

namespace ok::declarative {

struct Operation {
  enum class Kind { create, update, remove };
  Kind kind = Kind::create;
  const api::config::ConfigEntity* entity = nullptr;
  std::string id;
  boost::json::object body;         // create, update: the whole entity to PUT by id
  boost::json::object current;      // update, remove: what the control plane holds
  std::vector<std::string> fields;  // update: the top-level fields that change
  std::string label;                // "service billing", "plugin cors (3d1c7a4e-…)"
};

struct Plan {
  std::vector<Operation> upserts;   // parents first
  std::vector<Operation> removals;  // children first
  std::size_t unchanged = 0;
  bool empty() const { return upserts.empty() && removals.empty(); }
};

// One entity of the file that cannot be synced, with every reason (its schema problems, a
// reference to nothing), and where it is in the file.
struct EntityProblem {
  std::string label;
  std::vector<std::string> reasons;  // "name: length must be at least 1 (rule: min_length)"
};

class PlanError : public std::runtime_error {
 public:
  explicit PlanError(std::vector<EntityProblem> problems);
  const std::vector<EntityProblem>& problems() const { return problems_; }

 private:
  std::vector<EntityProblem> problems_;
};

// `current` holds what the control plane has (as its API renders it: ids, references as
// {"id": …}), already narrowed to the file's select_tags when it has some; the file's entities
// get those tags. `new_id` makes the ids of creates. Throws PlanError with every problem of
// every entity when any entity of the file cannot be synced: nothing is planned then.
Plan plan_sync(const DeckFile& file, const DeckFile& current, const std::function<std::string()>& new_id);

}  // namespace ok::declarative
