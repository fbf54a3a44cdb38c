#include "cli/config_command.hpp"

#include "api/config/registry.hpp"
#include "declarative/deck_file.hpp"
#include "declarative/diff.hpp"
#include "declarative/yaml_json.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <openkonnect/client/client.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>
#include <unordered_set>

namespace ok::cli {
namespace {

namespace kc = openkonnect::client;
using api::config::ConfigEntity;
using api::config::Registry;
using declarative::DeckFile;
using declarative::Operation;
using declarative::Plan;

// Why a command stops: printed as "error: …", exit status 1.
class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A server error as the user wants it: what failed and why, field by field for a 400.
std::string explain(const kc::Error& e) {
  if (e.kind == kc::ErrorKind::Transport) return fmt::format("cannot reach the server: {}", e.detail);
  std::string out = fmt::format("{} {}", e.status, e.title);
  if (!e.detail.empty()) out += ": " + e.detail;
  for (const auto& p : e.invalid_parameters) {
    out += fmt::format("\n    {}: {}", p.field.empty() ? "(request)" : p.field, p.reason);
    if (!p.rule.empty()) out += fmt::format(" (rule: {})", p.rule);
    if (!p.choices.empty()) out += fmt::format(" choices: {}", boost::json::serialize(p.choices));
  }
  if (e.kind == kc::ErrorKind::ServerError || e.kind == kc::ErrorKind::Unavailable) {
    if (!e.instance.empty()) out += fmt::format(" (trace {})", e.instance);
  }
  return out;
}

std::string read_input(const std::string& path) {
  if (path == "-") return {std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Failure(fmt::format("cannot read {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_output(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text;
    return;
  }
  // Written beside and renamed into place: an interrupted dump never leaves half a file.
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw Failure(fmt::format("cannot write {}", partial));
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) throw Failure(fmt::format("cannot write {}", path));
}

bool json_file(const std::string& path, const std::string& format) {
  if (!format.empty()) return format == "json";
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
}

DeckFile read_deck_file(const std::string& path) {
  try {
    return declarative::read_deck(declarative::yaml_to_json(read_input(path)));
  } catch (const declarative::FileError& e) {
    throw Failure(fmt::format("{}: {}", path == "-" ? "standard input" : path, e.what()));
  }
}

kc::Client connect(const ConfigOptions& o) {
  std::string token = o.token;
  for (const char* name : {"OPENKONNECT_TOKEN", "KONNECT_TOKEN"}) {
    if (const char* v = std::getenv(name); token.empty() && v) token = v;
  }
  if (token.empty()) throw Failure("a token is needed: --token, or OPENKONNECT_TOKEN or KONNECT_TOKEN");
  kc::Options options{.base_url = o.url, .token = token, .ca_file = o.ca_file};
  // A sync of many entities may spend a whole rate-limit budget: waiting as the server says
  // (429s are never processed) is how it finishes, as decK does.
  options.retry.max_attempts = 10;
  options.retry.max_total_wait = std::chrono::minutes(5);
  auto client = kc::Client::connect(std::move(options));
  if (!client) throw Failure(explain(client.error()));
  return std::move(client).value();
}

std::string control_plane_id(kc::Client& client, const std::string& name_or_id) {
  static const std::regex uuid("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  if (std::regex_match(name_or_id, uuid)) {
    auto cp = client.get_control_plane(name_or_id);
    if (cp) return name_or_id;
    if (cp.error().kind != kc::ErrorKind::NotFound) throw Failure(explain(cp.error()));
  }
  auto found = client.control_planes({{"filter[name][eq]", name_or_id}}).all();
  if (!found) throw Failure(explain(found.error()));
  if (found->empty()) throw Failure(fmt::format("no control plane [{}] in this organization", name_or_id));
  return std::string(found->front().as_object().at("id").as_string());
}

std::vector<const ConfigEntity*> file_entities() {
  std::vector<const ConfigEntity*> out;
  for (const auto* e : Registry::get().entities()) {
    if (e != &Registry::get().membership() && e->top_level) out.push_back(e);
  }
  return out;
}

// Runs `work(i)` for i in [0, n) on up to `threads` threads.
template <class Work>
void in_parallel(std::size_t n, int threads, Work&& work) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  const auto count = std::min<std::size_t>(n, static_cast<std::size_t>(std::max(1, threads)));
  for (std::size_t t = 0; t < count; ++t) {
    pool.emplace_back([&] {
      for (std::size_t i; (i = next++) < n;) work(i);
    });
  }
  for (auto& t : pool) t.join();
}

// Consumer-group memberships have no list of their own: each group's consumers are listed (as
// decK does). Only consumers among `current`'s (those with the select tags) count.
void fetch_memberships(kc::Client& client, const std::string& cp, DeckFile& current) {
  const auto& groups = current.entities["consumer_groups"];
  std::unordered_set<std::string> consumers;
  for (const auto& c : current.entities["consumers"]) consumers.insert(std::string(c.at("id").as_string()));
  std::vector<std::optional<kc::Result<boost::json::array>>> lists(groups.size());
  in_parallel(groups.size(), 10, [&](std::size_t i) {
    const std::string id(groups[i].at("id").as_string());
    lists[i] = client.entities(cp, {"consumer_groups", id, "consumers"}, {}, 1000).all();
  });
  auto& memberships = current.entities[Registry::get().membership().def.name];
  for (std::size_t i = 0; i < groups.size(); ++i) {
    auto& members = *lists[i];
    if (!members) {
      throw Failure(fmt::format("cannot list the consumers of consumer group {}: {}",
                                std::string(groups[i].at("id").as_string()), explain(members.error())));
    }
    for (const auto& m : *members) {
      const auto& consumer = m.as_object().at("id");
      if (!consumers.contains(std::string(consumer.as_string()))) continue;
      memberships.push_back(
          boost::json::object{{"consumer_group", {{"id", groups[i].at("id")}}}, {"consumer", {{"id", consumer}}}});
    }
  }
}

// What the control plane holds, as the API renders it; with `tags`, only what has them all.
DeckFile fetch_current(kc::Client& client, const std::string& cp, const std::vector<std::string>& tags) {
  DeckFile current;
  kc::Query query;
  if (!tags.empty()) {
    std::string joined;
    for (const auto& t : tags) joined += (joined.empty() ? "" : ",") + t;
    query.emplace_back("tags", joined);
  }
  // One list per entity type, all at once (as decK does): each pages on its own.
  const auto types = file_entities();
  std::vector<std::optional<kc::Result<boost::json::array>>> lists(types.size());
  in_parallel(types.size(), static_cast<int>(types.size()),
              [&](std::size_t i) { lists[i] = client.entities(cp, {types[i]->path}, query, 1000).all(); });
  for (std::size_t i = 0; i < types.size(); ++i) {
    auto& items = *lists[i];
    if (!items) throw Failure(fmt::format("cannot list {}: {}", types[i]->path, explain(items.error())));
    auto& list = current.entities[types[i]->def.name];
    for (auto& item : *items) list.push_back(std::move(item.as_object()));
  }
  fetch_memberships(client, cp, current);
  return current;
}

// Where an operation's entity is written: its own collection, or, for entities written only
// under their parent (credentials, targets), the parent's nested one.
kc::Collection collection_of(const Operation& op) {
  const auto& e = *op.entity;
  if (e.top_level_writes && e.top_level_item) return {e.path};
  const auto& entity = op.kind == Operation::Kind::remove ? op.current : op.body;
  for (const auto& n : Registry::get().nestings()) {
    if (n.child != &e) continue;
    const auto* ref = entity.if_contains(n.field);
    if (ref && ref->is_object()) {
      if (const auto* id = ref->get_object().if_contains("id"); id && id->is_string()) {
        return {n.parent->path, std::string(id->get_string()), n.segment};
      }
    }
  }
  return {e.path};
}

// A membership is added through its group (decK's call) and removed there; one already gone
// (its consumer or group was deleted) is no failure.
kc::Result<void> apply_membership(kc::Client& client, const std::string& cp, const Operation& op) {
  const auto& entity = op.kind == Operation::Kind::remove ? op.current : op.body;
  const std::string group(entity.at("consumer_group").at("id").as_string());
  const std::string consumer(entity.at("consumer").at("id").as_string());
  const auto members = fmt::format("/v2/control-planes/{}/core-entities/consumer_groups/{}/consumers",
                                   kc::encode_segment(cp), kc::encode_segment(group));
  if (op.kind == Operation::Kind::remove) {
    auto r = client.send(kc::Method::Delete, fmt::format("{}/{}", members, kc::encode_segment(consumer)));
    if (!r && r.error().kind != kc::ErrorKind::NotFound) return r.error();
    return {};
  }
  const boost::json::value body = {{"consumer", consumer}};
  auto r = client.send(kc::Method::Post, members, &body);
  if (!r) return r.error();
  return {};
}

// A progress bar on a terminal; nothing when standard error is not one.
class Progress {
 public:
  explicit Progress(std::size_t total) : total_(total), tty_(::isatty(STDERR_FILENO) == 1) {}
  void advance() {
    const auto done = ++done_;
    if (!tty_) return;
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (done != total_ && now - drawn_ < std::chrono::milliseconds(100)) return;
    drawn_ = now;
    const std::size_t width = 30, filled = total_ ? width * done / total_ : width;
    std::fprintf(stderr, "\r[%s%s] %zu/%zu", std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                 done, total_);
    if (done == total_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  std::size_t total_;
  bool tty_;
  std::atomic<std::size_t> done_{0};
  std::mutex mutex_;
  std::chrono::steady_clock::time_point drawn_{};
};

const char* verb(Operation::Kind k) {
  switch (k) {
    case Operation::Kind::create:
      return "create";
    case Operation::Kind::update:
      return "update";
    case Operation::Kind::remove:
      return "delete";
  }
  return "change";
}

void print_plan(const Plan& plan) {
  for (const auto& op : plan.removals) std::cout << fmt::format("delete {}\n", op.label);
  for (const auto& op : plan.upserts) {
    std::string fields;
    for (const auto& f : op.fields) fields += (fields.empty() ? ": " : ", ") + f;
    std::cout << fmt::format("{} {}{}\n", verb(op.kind), op.label, fields);
  }
}

std::string summary(const Plan& plan) {
  const auto creates = std::count_if(plan.upserts.begin(), plan.upserts.end(),
                                     [](const Operation& op) { return op.kind == Operation::Kind::create; });
  return fmt::format("{} to create, {} to update, {} to delete, {} unchanged", creates,
                     static_cast<std::ptrdiff_t>(plan.upserts.size()) - creates, plan.removals.size(), plan.unchanged);
}

Plan plan_for(const DeckFile& file, const DeckFile& current) {
  try {
    return declarative::plan_sync(file, current, [] { return util::new_uuid(); });
  } catch (const declarative::PlanError& e) {
    std::string text = fmt::format("{}; nothing was changed:", e.what());
    for (const auto& p : e.problems()) {
      text += fmt::format("\n  {}", p.label);
      for (const auto& r : p.reasons) text += fmt::format("\n    {}", r);
    }
    throw Failure(text);
  }
}

int dump(const ConfigOptions& o) {
  auto client = connect(o);
  const auto cp = control_plane_id(client, o.control_plane);
  DeckFile file = fetch_current(client, cp, o.select_tags);
  file.select_tags = o.select_tags;
  for (auto& [name, list] : file.entities) {
    const auto* e = Registry::get().by_name(name);
    for (auto& entity : list) {
      entity.erase("created_at");
      entity.erase("updated_at");
      for (const auto& t : e->transient) entity.erase(t);
    }
  }
  const auto document = declarative::write_deck(file);
  write_output(o.file, json_file(o.file, o.format) ? boost::json::serialize(document) + "\n"
                                                   : declarative::json_to_yaml(document));
  std::cerr << fmt::format("dumped {} entities of control plane {}\n", file.size(), o.control_plane);
  return 0;
}

int diff(const ConfigOptions& o) {
  const auto file = read_deck_file(o.file);
  auto client = connect(o);
  const auto cp = control_plane_id(client, o.control_plane);
  const auto plan = plan_for(file, fetch_current(client, cp, file.select_tags));
  print_plan(plan);
  std::cout << fmt::format("Summary: {}.\n", summary(plan));
  return 0;
}

int sync(const ConfigOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  const auto file = read_deck_file(o.file);
  auto client = connect(o);
  const auto cp = control_plane_id(client, o.control_plane);
  const auto plan = plan_for(file, fetch_current(client, cp, file.select_tags));
  if (o.dry_run) {
    print_plan(plan);
    std::cout << fmt::format("Dry run: {}; nothing was changed.\n", summary(plan));
    return 0;
  }
  std::mutex out;
  std::vector<std::string> errors;
  auto fail = [&](const Operation& op, const kc::Error& e) {
    std::lock_guard lock(out);
    errors.push_back(fmt::format("{} {}: {}", verb(op.kind), op.label, explain(e)));
  };

  if (o.atomic && !plan.upserts.empty()) {
    // The server's own validation of every entity first: one invalid entity and nothing is
    // written.
    in_parallel(plan.upserts.size(), o.parallelism, [&](std::size_t i) {
      const auto& op = plan.upserts[i];
      // A membership has no schema of its own: it only names a consumer and a group.
      if (op.entity == &Registry::get().membership()) return;
      const boost::json::value body = op.body;
      auto r = client.call(kc::Method::Post,
                           fmt::format("/v2/control-planes/{}/core-entities/schemas/{}/validate",
                                       kc::encode_segment(cp), kc::encode_segment(op.entity->json_name)),
                           &body);
      if (!r) fail(op, r.error());
    });
    if (!errors.empty()) {
      for (const auto& e : errors) std::cerr << "error: " << e << "\n";
      std::cerr << fmt::format("{} entities are invalid; nothing was changed.\n", errors.size());
      return 1;
    }
  }

  Progress progress(plan.removals.size() + plan.upserts.size());
  std::size_t created = 0, updated = 0, removed = 0;
  // One entity type at a time, in the plan's order (children first for removals, parents first
  // for upserts): within one type nothing depends on anything else.
  auto run_waves = [&](const std::vector<Operation>& ops) {
    for (std::size_t begin = 0; begin < ops.size() && errors.empty();) {
      std::size_t end = begin;
      while (end < ops.size() && ops[end].entity == ops[begin].entity) ++end;
      in_parallel(end - begin, o.parallelism, [&](std::size_t k) {
        const auto& op = ops[begin + k];
        const auto collection = collection_of(op);
        bool ok = false;
        if (op.entity == &Registry::get().membership()) {
          auto r = apply_membership(client, cp, op);
          ok = static_cast<bool>(r);
          if (!r) fail(op, r.error());
        } else if (op.kind == Operation::Kind::remove) {
          auto r = client.delete_entity(cp, collection, op.id);
          ok = static_cast<bool>(r);
          if (!r) fail(op, r.error());
        } else {
          auto r = client.upsert_entity(cp, collection, op.id, op.body);
          ok = static_cast<bool>(r);
          if (!r) fail(op, r.error());
        }
        if (ok) {
          std::lock_guard lock(out);
          (op.kind == Operation::Kind::remove ? removed : op.kind == Operation::Kind::create ? created : updated)++;
        }
        progress.advance();
      });
      begin = end;
    }
  };
  run_waves(plan.removals);
  run_waves(plan.upserts);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (const auto& e : errors) std::cerr << "error: " << e << "\n";
  std::cout << fmt::format("Synced: {} created, {} updated, {} deleted, {} unchanged in {:.1f} s.\n", created, updated,
                           removed, plan.unchanged, seconds);
  if (!errors.empty()) {
    std::cerr << fmt::format("{} changes failed; the sync stopped after the entity type that failed.\n", errors.size());
    return 1;
  }
  return 0;
}

}  // namespace

ConfigCommand::ConfigCommand(CLI::App& app) {
  config_ = app.add_subcommand("config",
                               "decK's declarative workflow: dump, diff and sync a control plane's "
                               "gateway configuration with a file");
  config_->require_subcommand(1);
  auto common = [this](CLI::App* sub, bool file_required) {
    sub->add_option("--url", options_.url, "The server's base URL")->envname("OPENKONNECT_URL")->capture_default_str();
    sub->add_option("--token", options_.token, "A personal access token (else OPENKONNECT_TOKEN or KONNECT_TOKEN)");
    sub->add_option("--control-plane", options_.control_plane, "The control plane, by name or id")->required();
    auto* file = sub->add_option("--file,-f", options_.file, "The decK file (YAML or JSON); - for standard I/O");
    if (file_required) file->required();
    sub->add_option("--ca-file", options_.ca_file, "HTTPS: a PEM file of CA certificates to trust");
  };
  dump_ = config_->add_subcommand("dump", "Write the control plane's configuration to a decK file");
  common(dump_, false);
  options_.file = "kong.yaml";
  dump_->add_option("--format", options_.format, "yaml or json (default: by the file's extension)")
      ->check(CLI::IsMember({"yaml", "json"}));
  dump_->add_option("--select-tag", options_.select_tags, "Only entities with this tag (repeatable)");
  diff_ = config_->add_subcommand("diff", "Print what a sync of the file would change");
  common(diff_, true);
  sync_ = config_->add_subcommand("sync", "Make the control plane's configuration the file's");
  common(sync_, true);
  sync_->add_flag("--dry-run", options_.dry_run, "Print the plan; change nothing");
  sync_->add_flag("--atomic", options_.atomic,
                  "Have the server validate every entity first; write nothing if one is invalid");
  sync_->add_option("--parallelism", options_.parallelism, "Requests at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
}

bool ConfigCommand::selected() const { return config_->parsed(); }

int ConfigCommand::run() {
  try {
    if (dump_->parsed()) return dump(options_);
    if (diff_->parsed()) return diff(options_);
    return sync(options_);
  } catch (const Failure& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace ok::cli
