#include "audit/destinations.hpp"

#include <boost/json/parse.hpp>

namespace ok::audit {

namespace bj = boost::json;

StoredDestinations stored_destinations(store::AuditStore& audit, const store::OrgId& org) {
  StoredDestinations out;
  out.json = audit.setting(org, kDestinationsSetting);
  if (out.json) {
    boost::system::error_code ec;
    auto value = bj::parse(*out.json, ec);
    if (!ec && value.is_array()) out.items = std::move(value.as_array());
  }
  return out;
}

const bj::object* find_destination(const bj::array& items, std::string_view id) {
  for (const auto& item : items) {
    const auto* o = item.if_object();
    if (!o) continue;
    const auto* item_id = o->if_contains("id");
    if (item_id && item_id->is_string() && item_id->as_string() == id) return o;
  }
  return nullptr;
}

std::optional<bj::object> effective_receiver(store::AuditStore& audit, const store::OrgId& org,
                                             const bj::object& webhook) {
  const auto* id = webhook.if_contains("audit_log_destination_id");
  if (!id || !id->is_string()) return webhook;
  const auto destinations = stored_destinations(audit, org);
  const auto* destination = find_destination(destinations.items, id->as_string());
  if (!destination) return std::nullopt;
  auto receiver = webhook;
  for (const auto* key : {"endpoint", "authorization", "log_format", "skip_ssl_verification"}) {
    if (const auto* v = destination->if_contains(key)) receiver[key] = *v;
  }
  return receiver;
}

}  // namespace ok::audit
