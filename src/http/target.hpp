#pragma once
// Splits a request target into a percent-decoded path and query parameters.
// Deliberately lenient about characters RFC 3986 reserves but clients send raw anyway
// (`page[size]=10` with unencoded brackets is what most Konnect tooling emits); strict only
// about what cannot be decoded (a malformed percent-escape, a query that is not UTF-8).

#include "http/request.hpp"

namespace ok::http {

enum class TargetError { none, bad_path, bad_query };

// Fills request.path and request.query from request.target.
TargetError parse_target(Request& request);

}  // namespace ok::http
