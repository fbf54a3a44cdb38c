#pragma once
// Renders an ApiError as an RFC 7807 problem+json document, the one format every non-2xx
// answer of openkonnect uses: `status`, `title`, `type`, `instance`, `detail`, and `message`
// (a copy of `detail` for Kong's own clients, decK and the UI's lists, which read only that
// key); a 400 adds `invalid_parameters`.

#include "errors/api_error.hpp"

#include <cstdint>
#include <string>

namespace ok::errors {

inline constexpr std::string_view kProblemContentType = "application/problem+json";

// `instance` is "kong:trace:<trace_id>", the id also sent as X-Kong-Request-Id.
std::string render_problem(const ApiError& error, std::uint64_t trace_id);

}  // namespace ok::errors
