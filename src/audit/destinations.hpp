#pragma once
// Audit log destinations: named receivers (endpoint, authorization, format, TLS verification)
// an organization defines once and points its webhook at (`audit_log_destination_id`, the
// Audit Logs v3 shape, accepted by the v2 webhook too; docs/AUDIT.md). An organization's
// destinations are one audit setting, a JSON array in creation order, changed only by
// compare-and-set, so a name stays unique without a table of its own: an organization has a
// handful, at most kMaxDestinations.

#include "store/store.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace ok::audit {

constexpr std::string_view kDestinationsSetting = "destinations";
constexpr std::size_t kMaxDestinations = 100;

struct StoredDestinations {
  std::optional<std::string> json;  // as stored (the compare-and-set's expected value)
  boost::json::array items;         // each with its authorization
};

StoredDestinations stored_destinations(store::AuditStore& audit, const store::OrgId& org);
const boost::json::object* find_destination(const boost::json::array& items, std::string_view id);

// Where a webhook's batches go: the destination it names (its fields in place of the
// webhook's own), else the webhook itself; nullopt when it names a destination that is gone.
std::optional<boost::json::object> effective_receiver(store::AuditStore& audit, const store::OrgId& org,
                                                      const boost::json::object& webhook);

}  // namespace ok::audit
