#pragma once
// `openkonnect config dump|diff|sync`: decK's declarative workflow against a running server,
// through the client library (client/). Reading and writing the file and planning the sync are
// declarative/'s; this is the part that talks to the server: resolving the control plane,
// fetching what it holds, applying a plan with bounded parallelism, and telling the user what
// happened, entity by entity.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace ok::cli {

struct ConfigOptions {
  std::string url = "http://127.0.0.1:8080";
  std::string token;                     // --token, else OPENKONNECT_TOKEN, else KONNECT_TOKEN
  std::string control_plane;             // a name or an id
  std::string file;                      // "-": standard input (diff, sync) or output (dump)
  std::string format;                    // dump: "yaml" or "json" (default: by the file's extension)
  std::vector<std::string> select_tags;  // dump: only entities with all of these tags
  std::string ca_file;
  bool dry_run = false;  // sync: plan and print, change nothing
  bool atomic = false;   // sync: the server validates every entity before anything is written
  int parallelism = 10;
};

class ConfigCommand {
 public:
  // Adds `config` and its subcommands to `app`.
  explicit ConfigCommand(CLI::App& app);
  bool selected() const;
  // Runs the selected subcommand; returns the process's exit status (0 done, 1 failed).
  int run();

 private:
  CLI::App* config_ = nullptr;
  CLI::App* dump_ = nullptr;
  CLI::App* diff_ = nullptr;
  CLI::App* sync_ = nullptr;
  ConfigOptions options_;
};

}  // namespace ok::cli
