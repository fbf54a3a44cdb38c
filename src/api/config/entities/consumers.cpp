// Consumers (Kong's consumers.lua), consumer groups and the membership between them (Kong
// Enterprise and Konnect only; Konnect's ConsumerGroup schema).

#include "api/config/entities/entities.hpp"
#include "schema/typedefs.hpp"

namespace ok::api::config::entities {

using namespace schema::fields;
namespace typedefs = schema::typedefs;

ConfigEntity consumers() {
  return ConfigEntity{
      .def = {.name = "consumers",
              .display = "Consumer",
              .endpoint_key = "username",
              .record = {.fields = {typedefs::id(), typedefs::created_at(), typedefs::updated_at(),
                                    string("username").unique_field(), string("custom_id").unique_field(),
                                    typedefs::tags()},
                         .checks = {schema::at_least_one_of({"custom_id", "username"})}}},
      .path = "consumers",
      .param = "ConsumerId",
      .json_name = "consumer",
      .family = "consumers",
      // On consumers the spec's filter[name] reads the username.
      .name_filters = {{"name", "username"}},
      .query_filters = {"custom_id"},
  };
}

ConfigEntity consumer_groups() {
  return ConfigEntity{
      .def = {.name = "consumer_groups",
              .display = "Consumer group",
              .endpoint_key = "name",
              .record = {.fields = {typedefs::id(), typedefs::created_at(), typedefs::updated_at(),
                                    string("name").req().unique_field(), typedefs::tags()}}},
      .path = "consumer_groups",
      .param = "ConsumerGroupId",
      .json_name = "consumer_group",
      .family = "consumers",
  };
}

ConfigEntity consumer_group_members() {
  return ConfigEntity{
      .def = {.name = "consumer_group_consumers",
              .display = "Consumer group membership",
              .record = {.fields = {typedefs::id(), typedefs::created_at(),
                                    foreign("consumer_group", "consumer_groups", "name").req().cascade(),
                                    foreign("consumer", "consumers", "username").req().cascade()}},
              .unique_together = {{"consumer_group", "consumer"}}},
      .path = "consumer_group_consumers",
      .param = "MembershipId",
      .json_name = "consumer_group_consumer",
      .family = "consumers",
      .top_level = false,
  };
}

}  // namespace ok::api::config::entities
