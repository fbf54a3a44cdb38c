#pragma once
// Success responses. (Failures are thrown as errors::ApiError and rendered by the App.)

#include "http/request.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace ok::api {

inline http::Response json_response(unsigned status, const boost::json::value& body) {
  http::Response r;
  r.status = status;
  r.body = boost::json::serialize(body);
  return r;
}

inline http::Response empty_response(unsigned status) {
  http::Response r;
  r.status = status;
  r.content_type.clear();
  return r;
}

}  // namespace ok::api
