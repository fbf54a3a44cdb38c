#include "api/config/plugins/rate_limits.hpp"

#include "schema/entity_validator.hpp"

#include <fmt/format.h>

namespace ok::api::config::plugins {

const std::vector<std::string>& rate_limit_periods() {
  static const std::vector<std::string> names = {"second", "minute", "hour", "day", "month", "year"};
  return names;
}

void period_order_check(const boost::json::object& limits, std::string_view prefix, errors::InvalidParameters& out) {
  const auto& names = rate_limit_periods();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto* lower = limits.if_contains(names[i]);
    if (!lower || !lower->is_number()) continue;
    for (std::size_t j = i + 1; j < names.size(); ++j) {
      const auto* upper = limits.if_contains(names[j]);
      if (upper && upper->is_number() && upper->to_number<double>() < lower->to_number<double>()) {
        out.push_back(
            {.field = schema::field_path(prefix, names[j]),
             .rule = errors::Rule::invalid,
             .reason = fmt::format("The limit for {}({:.1f}) cannot be lower than the limit for {}({:.1f})", names[j],
                                   upper->to_number<double>(), names[i], lower->to_number<double>())});
        return;
      }
    }
  }
}

}  // namespace ok::api::config::plugins
