#include "http/target.hpp"

#include "util/utf8.hpp"

#include <boost/url/encoding_opts.hpp>
#include <boost/url/pct_string_view.hpp>

namespace ok::http {
namespace {

bool decode(std::string_view raw, bool plus_is_space, std::string& out) {
  auto pct = boost::urls::make_pct_string_view(raw);
  if (!pct) return false;
  boost::urls::encoding_opts opts;
  opts.space_as_plus = plus_is_space;
  out = pct->decode(opts);
  return true;
}

}  // namespace

TargetError parse_target(Request& request) {
  std::string_view target = request.target;
  const auto question = target.find('?');
  std::string_view raw_path = target.substr(0, question);
  request.query.clear();
  if (!decode(raw_path, false, request.path)) {
    request.path.assign(raw_path);
    request.target_valid = false;
    return TargetError::bad_path;
  }
  if (question == std::string_view::npos) return TargetError::none;

  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string key;
    std::string value;
    // Query parameters are text: bytes that are not UTF-8 cannot name or filter anything.
    if (!decode(pair.substr(0, eq), true, key) ||
        (eq != std::string_view::npos && !decode(pair.substr(eq + 1), true, value)) || !util::is_utf8(key) ||
        !util::is_utf8(value)) {
      request.target_valid = false;
      return TargetError::bad_query;
    }
    request.query.emplace_back(std::move(key), std::move(value));
  }
  return TargetError::none;
}

}  // namespace ok::http
