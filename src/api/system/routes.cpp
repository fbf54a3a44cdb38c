#include "api/system/routes.hpp"

#include "api/app.hpp"
#include "api/responses.hpp"
#include "errors/api_error.hpp"
#include "store/errors.hpp"

#include <boost/json/object.hpp>

namespace ok::api::system {

void register_routes(App& app) {
  app.route(
      "GET", "/healthz",
      [](RequestContext& ctx) {
        try {
          ctx.store().ping();
        } catch (const store::UnavailableError&) {
          throw errors::ApiError::unavailable("The database is unreachable.");
        }
        return json_response(200, boost::json::object{{"status", "ok"}});
      },
      false);
  app.route(
      "GET", "/metrics",
      [&app](RequestContext&) {
        http::Response r;
        r.content_type = "text/plain; version=0.0.4";
        r.body = app.metrics().render_prometheus();
        return r;
      },
      false);
}

}  // namespace ok::api::system
