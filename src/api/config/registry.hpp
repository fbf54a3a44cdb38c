#pragma once
// Every gateway configuration entity the API serves, and how they nest under one another
// (/services/{id}/routes …). Adding an entity is one description file (api/config/entities/)
// and one line in registry.cpp.

#include "api/config/config_entity.hpp"

#include <deque>
#include <string_view>
#include <vector>

namespace ok::api::config {

// A collection served under one entity of another type: /<parent>/{parent_param}/<segment>,
// whose members reference the parent through `field`.
struct Nesting {
  const ConfigEntity* parent;
  std::string parent_param;
  const ConfigEntity* child;
  std::string segment;
  std::string field;
};

class Registry {
 public:
  static const Registry& get();

  const std::vector<const ConfigEntity*>& entities() const { return entities_; }
  const std::vector<Nesting>& nestings() const { return nestings_; }
  const ConfigEntity* by_name(std::string_view name) const;        // Kong's name: "services", "keyauth_credentials"
  const ConfigEntity* by_json_name(std::string_view name) const;   // "service", "key-auth"
  const ConfigEntity& membership() const { return *membership_; }  // consumers in consumer groups

 private:
  Registry();
  const ConfigEntity* add(ConfigEntity entity);
  std::deque<ConfigEntity> owned_;  // stable addresses
  std::vector<const ConfigEntity*> entities_;
  std::vector<Nesting> nestings_;
  const ConfigEntity* membership_ = nullptr;
};

}  // namespace ok::api::config
