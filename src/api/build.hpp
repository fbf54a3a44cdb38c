#pragma once
// Assembles the application with every API family's routes.

#include "api/app.hpp"

#include <memory>

namespace ok::api {

std::unique_ptr<App> build_app(store::Store& store, auth::Authenticator& authenticator, auth::Generations& generations,
                               ratelimit::Limiter& limiter, Settings settings);

}  // namespace ok::api
