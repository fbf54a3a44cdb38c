#pragma once
// decK's file format (`_format_version: "3.0"`) as openkonnect's entities: a file nests
// routes and plugins under services, credentials and plugins under consumers, targets under
// upstreams, SNIs under certificates, keys under key sets; the entity layer (and the API) keeps
// every entity in one flat collection per type, each child naming its parent by a foreign key.
// Which entity nests under which is the entity registry's (api/config/registry.hpp), so the
// file follows the entities without a table of its own. Consumer-group memberships, which
// have no list of their own in a file, are read from a consumer's `groups` and a group's
// `consumers`, and written in the consumer as decK does.
//
// A nested entity names its parent the way decK does: by the parent's id when the file gives
// one, else by the parent's endpoint key (a service's name, a consumer's username). Entities
// whose foreign key points elsewhere (a plugin on a route and a consumer) stay at the top level
// when written.

#include "declarative/yaml_json.hpp"

#include <boost/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace ok::declarative {

struct DeckFile {
  std::string format_version = "3.0";
  std::vector<std::string> select_tags;  // _info.select_tags
  // Kong's entity name ("services", "keyauth_credentials") -> its entities, in file order,
  // children with their parent's foreign key set.
  std::map<std::string, std::vector<boost::json::object>> entities;

  std::size_t size() const;
};

// Reads a decK file from its JSON (see yaml_to_json). Throws FileError naming the place
// ("services[2].routes[0]: …") for anything that is not decK's shape: a top level that is
// not a mapping, an unknown top-level or nested key, a collection that is not a list, an
// entity that is not a mapping, a nested entity that names its parent itself, a parent
// nested entities cannot name (neither id nor endpoint key), a format version other than 3.0.
DeckFile read_deck(const boost::json::value& document);

// Writes `file` as decK does: children nested under their parent (when the foreign key names
// exactly one parent present in the file), each list sorted by endpoint key then id, members
// in the entity's field order. Only nested children lose their foreign key.
boost::json::value write_deck(const DeckFile& file);

}  // namespace ok::declarative
