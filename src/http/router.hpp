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
    std::vector<std::string> param_names;  // in path order
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
        names.emplace_back(segment.substr(1, segment.size() - 2));
        node = node->param.get();
      } else {
        auto& child = node->literals[std::string(segment)];
        if (!child) child = std::make_unique<Node>();
        node = child.get();
      }
    }
    // Parameter names belong to the route, not to the trie: two templates may name the same
    // position differently ({ConsumerId} and {ConsumerIdForNestedEntities}).
    auto route = std::make_unique<Route>(Route{method, path_template, std::move(handler), std::move(names)});
    node->methods.emplace_back(std::move(method), route.get());
    routes_.push_back(std::move(route));
  }

  // Literal segments win over parameters, but a parameter still matches where the literal
  // branch leads nowhere (/v3/users/me vs /v3/users/{userId}/teams). A path that exists
  // with other methods is 405, unless another template matches it with this method.
  Match match(std::string_view method, std::string_view path) const {
    const auto segments = split(path);
    std::vector<std::string_view> values;
    Match result;
    const Node* fallback = nullptr;  // first node reached that has other methods
    std::vector<std::string_view> fallback_values;
    if (const Route* route = find(&root_, segments, 0, method, values, fallback, fallback_values)) {
      result.outcome = Outcome::matched;
      result.route = route;
      for (std::size_t i = 0; i < values.size() && i < route->param_names.size(); ++i) {
        result.params.emplace_back(route->param_names[i], std::string(values[i]));
      }
      return result;
    }
    if (fallback) {
      result.outcome = Outcome::method_not_allowed;
      for (const auto& entry : fallback->methods) result.allowed_methods.push_back(entry.first);
    }
    return result;
  }

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  struct Node {
    std::unordered_map<std::string, std::unique_ptr<Node>> literals;
    std::unique_ptr<Node> param;
    std::vector<std::pair<std::string, const Route*>> methods;
  };

  static const Route* find(const Node* node, const std::vector<std::string_view>& segments, std::size_t i,
                           std::string_view method, std::vector<std::string_view>& values, const Node*& fallback,
                           std::vector<std::string_view>& fallback_values) {
    if (i == segments.size()) {
      for (const auto& [m, route] : node->methods) {
        if (m == method) return route;
      }
      if (!node->methods.empty() && !fallback) {
        fallback = node;
        fallback_values = values;
      }
      return nullptr;
    }
    if (auto it = node->literals.find(std::string(segments[i])); it != node->literals.end()) {
      if (auto* r = find(it->second.get(), segments, i + 1, method, values, fallback, fallback_values)) return r;
    }
    if (node->param && !segments[i].empty()) {
      values.push_back(segments[i]);
      if (auto* r = find(node->param.get(), segments, i + 1, method, values, fallback, fallback_values)) return r;
      values.pop_back();
    }
    return nullptr;
  }

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
