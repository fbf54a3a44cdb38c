#include "api/config/export.hpp"

#include "api/config/registry.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <map>
#include <set>

namespace ok::api::config {
namespace {

namespace bj = boost::json;

constexpr std::int64_t kPageSize = 1000;
constexpr std::size_t kMaxConflicts = 256;  // group-status lists at most this many
constexpr std::string_view kGroupType = "CLUSTER_TYPE_CONTROL_PLANE_GROUP";

// Entities only Kong Enterprise data planes know: sent only when there are some, so that an
// open-source data plane is never handed a section its schema rejects.
const std::set<std::string, std::less<>> kEnterpriseOnly = {"consumer_groups", "consumer_group_consumers",
                                                            "mtls_auth_credentials"};

bool disabled(const bj::object& entity) {
  const auto* enabled = entity.if_contains("enabled");
  return enabled && enabled->is_bool() && !enabled->get_bool();
}

std::string referenced_id(const bj::value* v) {
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (const auto* o = v->if_object()) {
    if (const auto* id = o->if_contains("id"); id && id->is_string()) return std::string(id->get_string());
  }
  return {};
}

// One control plane's entities, by Kong entity name, foreign keys flattened.
std::map<std::string, bj::array> entities_of(store::EntityStore& store, const store::Scope& scope) {
  std::map<std::string, bj::array> out;
  for (const auto* entity : Registry::get().entities()) {
    auto& section = out[entity->def.name];
    std::vector<std::string> foreign;
    for (const auto& f : entity->def.record.fields) {
      if (f.type == schema::FieldType::foreign) foreign.push_back(f.name);
    }
    store::EntityPageQuery query;
    query.type = entity->def.name;
    query.size = kPageSize;
    while (true) {
      auto page = store.page(scope, query);
      for (auto& item : page.items) {
        auto body = bj::parse(item.body);
        auto& object = body.as_object();
        for (const auto& name : foreign) {
          if (auto* ref = object.if_contains(name); ref && ref->is_object()) *ref = referenced_id(ref);
        }
        section.push_back(std::move(body));
      }
      if (!page.more || page.items.empty()) break;
      query.after_id = page.items.back().id;
    }
  }
  return out;
}

// Leaves out what a data plane must not run (Kong's export skips the same).
void drop_disabled(std::map<std::string, bj::array>& sections) {
  std::set<std::string> skipped_services, skipped_routes;
  auto keep_if = [](bj::array& a, const auto& keep) {
    bj::array kept;
    for (auto& v : a) {
      if (keep(v.as_object())) kept.push_back(std::move(v));
    }
    a = std::move(kept);
  };
  keep_if(sections["services"], [&](const bj::object& s) {
    if (!disabled(s)) return true;
    skipped_services.insert(referenced_id(s.if_contains("id")));
    return false;
  });
  keep_if(sections["routes"], [&](const bj::object& r) {
    const auto service = referenced_id(r.if_contains("service"));
    if (service.empty() || !skipped_services.contains(service)) return true;
    skipped_routes.insert(referenced_id(r.if_contains("id")));
    return false;
  });
  keep_if(sections["plugins"], [&](const bj::object& p) {
    return !disabled(p) && !skipped_services.contains(referenced_id(p.if_contains("service"))) &&
           !skipped_routes.contains(referenced_id(p.if_contains("route")));
  });
}

bj::object table_of(std::map<std::string, bj::array> sections, const std::string& cluster_id) {
  bj::object table{{"_format_version", "3.0"}, {"_transform", false}};
  for (auto& [name, items] : sections) {
    if (items.empty() && kEnterpriseOnly.contains(name)) continue;
    table[name] = std::move(items);
  }
  table["parameters"] = bj::array{bj::object{{"key", "cluster_id"}, {"value", cluster_id}}};
  return table;
}

// A group's configuration: its members', merged; conflicts when two members hold one entity.
cluster::Rendered render_group(store::Store& store, const store::ControlPlane& group) {
  const store::OrgId org(group.org_id);
  std::map<std::string, bj::array> merged;
  bj::array conflicts;
  // Per entity type: who holds each id and each endpoint key.
  std::map<std::string, std::map<std::string, std::string>> holders;
  std::string after;
  while (true) {
    auto members = store.list_group_members(org, group.id, after, 100);
    for (const auto& member : members.items) {
      auto sections = entities_of(store.entities(), store::Scope::of(member));
      for (auto& [name, items] : sections) {
        const auto* entity = Registry::get().by_name(name);
        for (auto& v : items) {
          const auto& object = v.as_object();
          const auto id = referenced_id(object.if_contains("id"));
          std::vector<std::string> keys{"id:" + id};
          if (entity && !entity->def.endpoint_key.empty()) {
            if (const auto* k = object.if_contains(entity->def.endpoint_key); k && k->is_string()) {
              keys.push_back(entity->def.endpoint_key + ":" + std::string(k->get_string()));
            }
          }
          bool clash = false;
          for (const auto& k : keys) {
            auto [it, fresh] = holders[name].emplace(k, member.id);
            if (fresh || it->second == member.id) continue;
            clash = true;
            if (conflicts.size() < kMaxConflicts) {
              conflicts.push_back(bj::object{
                  {"cluster_id", member.id},
                  {"description",
                   fmt::format("conflicting entity found: ID={}, {} (also in control plane {})", id, k, it->second)},
                  {"resource", bj::object{{"id", id}, {"type", entity ? entity->json_name : name}}}});
            }
          }
          if (!clash) merged[name].push_back(std::move(v));
        }
      }
    }
    if (members.items.size() < 100) break;
    after = members.items.back().id;
  }
  if (!conflicts.empty()) return {std::nullopt, std::move(conflicts)};
  drop_disabled(merged);
  return {table_of(std::move(merged), group.id), {}};
}

}  // namespace

cluster::Rendered render_configuration(store::Store& store, const store::ControlPlane& cp) {
  if (cp.cluster_type == kGroupType) return render_group(store, cp);
  auto sections = entities_of(store.entities(), store::Scope::of(cp));
  drop_disabled(sections);
  return {table_of(std::move(sections), cp.id), {}};
}

}  // namespace ok::api::config
