#include "api/build.hpp"

#include "api/audit/routes.hpp"
#include "api/config/routes.hpp"
#include "api/control_planes/routes.hpp"
#include "api/data_planes/routes.hpp"
#include "api/identity/routes.hpp"
#include "api/system/routes.hpp"

namespace ok::api {

std::unique_ptr<App> build_app(store::Store& store, auth::Authenticator& authenticator, auth::Generations& generations,
                               ratelimit::Limiter& limiter, Settings settings) {
  auto app = std::make_unique<App>(store, authenticator, generations, limiter, std::move(settings));
  system::register_routes(*app);
  identity::register_routes(*app);
  control_planes::register_routes(*app);
  config::register_routes(*app);
  data_planes::register_routes(*app);
  audit::register_routes(*app);
  app->finalize();
  return app;
}

}  // namespace ok::api
