#pragma once
// Control plane group handlers; each takes the control plane already loaded (path id
// checked, 404 handled) by routes.cpp.

#include "api/context.hpp"
#include "store/store.hpp"

namespace ok::api::control_planes {

http::Response list_memberships(RequestContext& ctx, store::ControlPlane cp);
http::Response change_memberships(RequestContext& ctx, store::ControlPlane cp, store::MembershipChange change);
http::Response member_status(RequestContext& ctx, store::ControlPlane cp);
http::Response group_status(RequestContext& ctx, store::ControlPlane cp);

}  // namespace ok::api::control_planes
