#pragma once
// Presets: what a migration from a known kind of server needs, under one name (--preset,
// migrate_preset): host/port/TLS defaults, folder mapping, exclusions, throttling, a size cap,
// and Gmail's label handling. Built in: generic, gmail, office365, exchange. Admins define more
// in dovecot.conf (plugin { migrate_preset_<name>_<key> = ... }, see docs/presets-and-filters.md).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate {

struct SourceOptions;

// A source folder that matches `pattern` (engine/selection.h) is a folder of this special use:
// it goes into the destination's folder with that special use, or, where the destination has
// none, into `destName` ("" keeps its own name). specialUse 0 with a destName: just a rename.
struct FolderRule {
  std::string pattern;
  uint8_t specialUse = 0;
  std::string destName;
};

struct Preset {
  std::string name;  // "" : no preset
  // Defaults for what the user's settings and the command line leave unset.
  std::string host;
  uint16_t port = 0;
  std::string tls;  // "" : the usual default (imaps on 993)
  // Folders left out (patterns), with the reason shown in the report.
  std::vector<std::string> exclude;
  std::string excludeReason;
  std::vector<FolderRule> folderRules;  // first match wins
  uint64_t maxSize = 0;                 // default --max-size (0: none)
  uint32_t maxConnections = 0;          // default --max-connections per source host (0: none)
  uint64_t maxRate = 0;                 // default --max-rate, bytes per second (0: none)
  // Gmail: the \All folder ("[Gmail]/All Mail") keeps only messages without a label of a copied
  // folder (X-GM-LABELS); the others are skipped as duplicates.
  bool gmailLabels = false;
};

// Admin-defined presets as read from the settings: name -> key -> value, keys without the
// "migrate_preset_<name>_" prefix (base, host, port, tls, exclude, folder_map, max_size,
// max_connections, max_rate, gmail_labels).
using PresetDefinitions = std::map<std::string, std::map<std::string, std::string>>;

// The built-in preset (nullptr for another name).
const Preset* builtinPreset(const std::string& name);

// The preset `name`: an admin definition (which may start from a built-in one with
// `base = gmail`) or a built-in one. Config error for an unknown name or a bad value, naming
// migrate_preset_<name>_<key>.
Result<Preset> findPreset(const std::string& name, const PresetDefinitions& admin);

// Resolves source.presetName (empty: no preset) and fills in the host, port and TLS mode that
// the settings and the command line left unset. Idempotent.
Result<Preset> applyPreset(SourceOptions& source);

}  // namespace migrate
