#include "api/identity/role_catalog.hpp"

namespace ok::api::identity {
namespace {

namespace bj = boost::json;

struct Role {
  std::string_view slug;
  std::string_view name;
  std::string_view description;
};

struct EntityType {
  std::string_view slug;
  std::string_view name;           // as /roles spells it
  std::string_view assign_name;    // as role assignments spell it
  std::vector<Role> roles;
};

const std::vector<EntityType>& catalog() {
  static const std::vector<EntityType> types = {
      {"control_planes",
       "Control Planes",
       "Control Planes",
       {{"admin", "Admin", "This role grants full write access to all entities within a control plane."},
        {"certificate_admin", "Certificate Admin", "This role grants full write access to administer certificates."},
        {"consumer_admin", "Consumer Admin", "This role grants full write access to administer consumers."},
        {"creator", "Creator",
         "Creates a new Control Plane in an organization. The creator becomes the owner of the Control Plane they "
         "create."},
        {"debug_session_creator", "Debug Session Creator",
         "This role grants access to create debug sessions. This role also grants read-only access to all entities "
         "within a control plane."},
        {"deployer", "Deployer",
         "This role grants full write access to administer services, routes and plugins necessary to deploy services "
         "in Service Hub."},
        {"gateway_service_admin", "Gateway Service Admin",
         "This role grants full write access to administer gateway services."},
        {"plugin_admin", "Plugin Admin", "This role grants full write access to administer plugins."},
        {"route_admin", "Route Admin", "This role grants full write access to administer routes."},
        {"sni_admin", "SNI Admin", "This role grants full write access to administer SNIs."},
        {"upstream_admin", "Upstream Admin", "This role grants full write access to administer upstreams."},
        {"viewer", "Viewer", "This role grants read only access to all entities within a control plane."}}},
      {"api_products",
       "API Products",
       "API Products",
       {{"admin", "Admin", "This role grants full write access to an API product and its versions."},
        {"application_registration", "Application Registration",
         "This role grants permission to enable and disable application registration on an API product."},
        {"creator", "Creator",
         "This access is required to create API products. This access is not for creating sub-entities such as "
         "versions, API specs, etc."},
        {"deployer", "Deployer", "This role grants permission to deploy and remove an API product from a control plane."},
        {"maintainer", "Maintainer",
         "This role grants all write permission to manage an API product and to administer plugins."},
        {"plugins_admin", "Plugins Admin", "This role grants full write permission to administer plugins."},
        {"publisher", "Publisher", "This role grants permission to publish an API product to one or more portals."},
        {"viewer", "Viewer", "Viewer has read-only access to an API product and its sub-entities."}}},
      {"audit_logs",
       "Audit Logs",
       "Audit Logs",
       {{"admin", "Admin", "This role grants full write access to the Audit log configuration."}}},
      {"identity",
       "Identity",
       "Identity",
       {{"admin", "Admin", "This role grants full write access to the Identity configuration."}}},
      {"mesh_control_planes",
       "Mesh Control Plane",
       "Mesh Control Planes",
       {{"admin", "Admin", "This role grants full write access to the related to Mesh control planes."},
        {"connector", "Connector", "This role grants a mesh zone to connect to the mesh control plane in Konnect."},
        {"creator", "Creator", "This role grants access to create new Mesh control planes."},
        {"viewer", "Viewer", "This role grants access to read-only permissions to Mesh control planes."}}},
      {"dashboards",
       "Dashboards",
       "Dashboards",
       {{"admin", "Admin", "Allows users to edit, delete, and share a Dashboard in Konnect Analytics."},
        {"creator", "Creator", "Allows users to create a new Dashboard in Konnect Analytics."},
        {"editor", "Editor", "Allows users to edit a Dashboard in Konnect Analytics."},
        {"viewer", "Viewer", "Allows users to view any Dashboards content in Konnect Analytics."}}},
      {"reports",
       "Reports",
       "Reports",
       {{"admin", "Admin", "Allows users to edit, delete, and share a Report in Konnect Analytics."},
        {"creator", "Creator", "Allows users to create a new Report in Konnect Analytics."},
        {"editor", "Editor", "Allows users to edit a Report in Konnect Analytics."},
        {"viewer", "Viewer", "Allows users to view a Report in Konnect Analytics."}}},
  };
  return types;
}

}  // namespace

const bj::object& roles_document() {
  static const bj::object doc = [] {
    bj::object out;
    for (const auto& type : catalog()) {
      bj::object roles;
      for (const auto& r : type.roles) roles[r.slug] = bj::object{{"name", r.name}, {"description", r.description}};
      out[type.slug] = bj::object{{"name", type.name}, {"roles", std::move(roles)}};
    }
    return out;
  }();
  return doc;
}

const std::vector<std::string>& assignable_role_names() {
  static const std::vector<std::string> names = {
      "Admin", "Appearance Maintainer", "Application Registration", "Certificate Admin",
      "Cloud Gateway Cluster Admin", "Cloud Gateway Cluster Viewer", "Consumer Admin", "Connector", "Creator",
      "Debug Session Creator", "Deployer", "Discovery Admin", "Discovery Viewer", "Editor", "Gateway Service Admin",
      "Integration Admin", "Integration Viewer", "Key Admin", "Maintainer", "Network Admin", "Network Creator",
      "Network Viewer", "Plugin Admin", "Plugins Admin", "Product Publisher", "Publisher", "Route Admin", "SNI Admin",
      "Scorecard Admin", "Scorecard Viewer", "Service Admin", "Service Creator", "Service Viewer", "Upstream Admin",
      "Vault Admin", "Viewer", "Registration Approver", "Content Editor", "Add On Admin", "Add On Viewer"};
  return names;
}

const std::vector<std::string>& assignable_entity_types() {
  static const std::vector<std::string> types = {
      "Add Ons",    "APIs",     "API Products", "Application Auth Strategies", "Audit Logs", "Control Planes",
      "Dashboards", "DCR Providers", "Mesh Control Planes", "Networks", "Portals", "Reports", "Service Hub",
      "Auth Servers",
      // Self-hosted extension: the spec's enum has no "Identity", yet /roles lists its Admin
      // role; without it an Identity Admin could not be appointed.
      "Identity"};
  return types;
}

std::vector<std::string> roles_for_entity_type(std::string_view entity_type) {
  for (const auto& type : catalog()) {
    if (type.assign_name == entity_type) {
      std::vector<std::string> out;
      for (const auto& r : type.roles) out.emplace_back(r.name);
      return out;
    }
  }
  return assignable_role_names();
}

}  // namespace ok::api::identity
