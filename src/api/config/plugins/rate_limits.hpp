#pragma once
// What rate-limiting and response-ratelimiting share: their periods and the rule that a longer
// period may not allow fewer requests than a shorter one.

#include "errors/invalid_parameter.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ok::api::config::plugins {

const std::vector<std::string>& rate_limit_periods();  // second, minute, hour, day, month, year

// Reports the first period whose limit is lower than a shorter period's.
void period_order_check(const boost::json::object& limits, std::string_view prefix, errors::InvalidParameters& out);

}  // namespace ok::api::config::plugins
