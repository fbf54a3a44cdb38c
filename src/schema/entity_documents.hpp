#pragma once
// The two forms in which clients read an entity description: Kong's own (the JSON rendering of
// its Lua schemas, `{"fields": [{"name": {"type": …}}, …]}`, which Kong's UI and decK read for a
// plugin's configuration), and JSON Schema (with `properties.<field>.default`, which decK's
// sync reads for an entity's defaults).

#include "schema/entity.hpp"

#include <boost/json/object.hpp>

namespace ok::schema {

boost::json::object kong_schema(const RecordDef& record);
boost::json::object json_schema(const RecordDef& record);

}  // namespace ok::schema
