#pragma once
// The steps every gateway-configuration request shares, in the contract's order: the control
// plane from the path (400 for a malformed id, 404), the parent of a nested collection (404),
// the permission (403), the body against the entity's schema (400), then the store (409).
// The generic endpoints (endpoints.cpp) and the few hand-written ones (consumer groups,
// schemas) are built from these.

#include "api/config/config_entity.hpp"
#include "api/config/registry.hpp"
#include "api/context.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>

namespace ok::api::config {

// The control plane at {controlPlaneId}, in the caller's organization.
store::ControlPlane load_control_plane(RequestContext& ctx);

// 403 unless the principal may do `verb` on `family` in the control plane.
void authorize(RequestContext& ctx, const store::ControlPlane& cp, std::string_view family, auth::Verb verb);

// 409 for a write to a control plane group: its own configuration is read-only.
void refuse_group_writes(const store::ControlPlane& cp);

// The entity a path value names: an id (a UUID) or the entity's endpoint key. 400 when the
// value is neither possible (no endpoint key and not a UUID). `parent_id` scopes keys that
// are unique within a parent (targets).
std::optional<store::StoredEntity> find_entity(RequestContext& ctx, const store::Scope& scope, const ConfigEntity& type,
                                               const std::string& param, const std::string& parent_id = {});
// The id of the entity a reference member holds ({"id": …}); "" when none.
std::string referenced_id(const boost::json::object& entity, std::string_view field);
// 404 with the entity's own sentence.
[[noreturn]] void entity_not_found(const ConfigEntity& type);

// The request body validated against `type`, with defaults filled, references given by
// endpoint key resolved to ids, and the entity's own checks run: one 400 listing every
// problem. `overrides` are set in the body first (a nested parent, a path id or key).
boost::json::object validated_entity(RequestContext& ctx, const store::Scope& scope, const ConfigEntity& type,
                                     const boost::json::object& overrides);
// The same for a body already parsed. `check_references` false leaves references unchecked
// (the validate endpoint: a client checks entities before creating what they reference).
boost::json::object validated_entity(RequestContext& ctx, const store::Scope& scope, const ConfigEntity& type,
                                     boost::json::value body, const boost::json::object& overrides,
                                     bool check_references = true);

// Writes `entity` in `tx`: `existing` (the stored entity it replaces, if any) keeps its id and
// created_at; timestamps are set; the row's keys, references and tags follow the schema.
// Returns the stored JSON.
std::string put_entity(store::EntityTransaction& tx, const ConfigEntity& type, boost::json::object entity,
                       const std::optional<store::StoredEntity>& existing, const boost::json::object& input);

// The store's errors of a write, as the contract's answers (409, 400 missing_reference);
// `what` names the entity a refused delete was about (its endpoint key or id).
[[noreturn]] void rethrow_write_error(const ConfigEntity& type, const std::string& what = {});

// The stored JSON as a client sees it (with computed members such as a certificate's snis).
std::string render(RequestContext& ctx, const store::Scope& scope, const ConfigEntity& type, const std::string& body);

}  // namespace ok::api::config
