#pragma once
// Method + path template routing. Templates look like "/v2/control-planes/{controlPlaneId}";
// a segment in braces matches any one non-empty path segment and is captured by name.
// Lookup walks a segment trie, so its cost grows with the path depth, not the route count.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ok::http {

using PathParams = std::vector<std::pair<std::string_view, std::string>>;

template <typename Handler>
class Router {
 public:
  struct Route {
    std::string method;
    std::string path_template;
    Handler handler;
  };

  enum class Outcome { matched, not_found, method_not_allowed };

  struct Match {
    Outcome outcome = Outcome::not_found;
    const Route* route = nullptr;
    PathParams params;
    std::vector<std::string> allowed_methods;  // filled for method_not_allowed
  };

  void add(std::string method, std::string path_template, Handler handler) {
    Node* node = &root_;
    std::vector<std::string> names;
    for (auto segment : split(path_template)) {
      if (segment.size() >= 2 && segment.front() == '{' && segment.back() == '}') {
        if (!node->param) node->param = std::make_unique<Node>();
        node->param->param_name = std::string(segment.substr(1, segment.size() - 2));
        node = node->param.get();
      } else {
        auto& child = node->literals[std::string(segment)];
        if (!child) child = std::make_unique<Node>();
        node = child.get();
      }
    }
    auto route = std::make_unique<Route>(Route{method, path_template, std::move(handler)});
    node->methods.emplace_back(std::move(method), route.get());
    routes_.push_back(std::move(route));
  }

  Match match(std::string_view method, std::string_view path) const {
    Match result;
    const Node* node = &root_;
    for (auto segment : split(path)) {
      if (auto it = node->literals.find(std::string(segment)); it != node->literals.end()) {
        node = it->second.get();
      } else if (node->param && !segment.empty()) {
        result.params.emplace_back(node->param->param_name, std::string(segment));
        node = node->param.get();
      } else {
        return result;
      }
    }
    if (node->methods.empty()) return result;
    for (const auto& [m, route] : node->methods) {
      if (m == method) {
        result.outcome = Outcome::matched;
        result.route = route;
        return result;
      }
    }
    result.outcome = Outcome::method_not_allowed;
    result.params.clear();
    for (const auto& entry : node->methods) result.allowed_methods.push_back(entry.first);
    return result;
  }

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  struct Node {
    std::unordered_map<std::string, std::unique_ptr<Node>> literals;
    std::unique_ptr<Node> param;
    std::string param_name;
    std::vector<std::pair<std::string, const Route*>> methods;
  };

  // "/a/b/" -> {"a", "b", ""}: a trailing slash is a distinct (usually unknown) path.
  static std::vector<std::string_view> split(std::string_view path) {
    std::vector<std::string_view> out;
    if (path.empty() || path.front() != '/') {
      out.emplace_back(path);
      return out;
    }
    path.remove_prefix(1);
    while (true) {
      auto slash = path.find('/');
      out.emplace_back(path.substr(0, slash));
      if (slash == std::string_view::npos) break;
      path.remove_prefix(slash + 1);
    }
    return out;
  }

  Node root_;
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace ok::http
