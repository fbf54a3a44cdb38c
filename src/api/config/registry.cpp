#include "api/config/registry.hpp"

#include "api/config/entities/entities.hpp"

namespace ok::api::config {

const Registry& Registry::get() {
  static const Registry registry;
  return registry;
}

const ConfigEntity* Registry::add(ConfigEntity entity) {
  owned_.push_back(std::move(entity));
  entities_.push_back(&owned_.back());
  return &owned_.back();
}

Registry::Registry() {
  using namespace entities;
  const auto* certificates_ = add(certificates());
  const auto* ca_certificates_ = add(ca_certificates());
  const auto* services_ = add(services());
  const auto* routes_ = add(routes());
  const auto* consumers_ = add(consumers());
  const auto* consumer_groups_ = add(consumer_groups());
  const auto* plugins_ = add(entities::plugins());
  const auto* upstreams_ = add(upstreams());
  const auto* targets_ = add(targets());
  const auto* snis_ = add(snis());
  const auto* vaults_ = add(vaults());
  const auto* key_sets_ = add(key_sets());
  const auto* keys_ = add(keys());
  const auto* acls_ = add(acls());
  const auto* basic_auth_ = add(basic_auth());
  const auto* hmac_auth_ = add(hmac_auth());
  const auto* jwt_ = add(jwt());
  const auto* key_auth_ = add(key_auth());
  const auto* mtls_auth_ = add(mtls_auth());
  membership_ = add(consumer_group_members());
  (void)vaults_;
  (void)ca_certificates_;

  nestings_ = {
      {services_, "ServiceId", routes_, "routes", "service"},
      {services_, "ServiceId", plugins_, "plugins", "service"},
      {routes_, "RouteId", plugins_, "plugins", "route"},
      {consumers_, "ConsumerIdForNestedEntities", plugins_, "plugins", "consumer"},
      {consumer_groups_, "ConsumerGroupId", plugins_, "plugins", "consumer_group"},
      {upstreams_, "UpstreamIdForTarget", targets_, "targets", "upstream"},
      {certificates_, "CertificateId", snis_, "snis", "certificate"},
      {key_sets_, "KeySetId", keys_, "keys", "set"},
      {consumers_, "ConsumerIdForNestedEntities", acls_, "acls", "consumer"},
      {consumers_, "ConsumerIdForNestedEntities", basic_auth_, "basic-auth", "consumer"},
      {consumers_, "ConsumerIdForNestedEntities", hmac_auth_, "hmac-auth", "consumer"},
      {consumers_, "ConsumerIdForNestedEntities", jwt_, "jwt", "consumer"},
      {consumers_, "ConsumerIdForNestedEntities", key_auth_, "key-auth", "consumer"},
      {consumers_, "ConsumerIdForNestedEntities", mtls_auth_, "mtls-auth", "consumer"},
  };
}

const ConfigEntity* Registry::by_name(std::string_view name) const {
  for (const auto* e : entities_) {
    if (e->def.name == name) return e;
  }
  return nullptr;
}

const ConfigEntity* Registry::by_json_name(std::string_view name) const {
  for (const auto* e : entities_) {
    if (e->json_name == name) return e;
  }
  return nullptr;
}

}  // namespace ok::api::config
