#pragma once
// The option table (option_table.def) as C++ data, and the one parser per kind of value. Every
// reader of an option (the 2.3 settings reader, the 2.4 settings check at Dovecot's startup, the
// command line, batch lines, presets) reads a value of a kind through these, so "yes" means the
// same everywhere and a bad value is named the same way.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace migrate::options {

enum class Kind {
  TEXT,
  SECRET,
  PATH,
  HOST,
  PORT,
  TLS,
  YESNO,
  RATE,
  CONNECTIONS,
  PATTERNS,
  SIZE,
  DATE,
  PRESET,
  PROTOCOLS,
  COUNT,
  FOLDER_MAP,
  SERVICE,
  FLAG
};

// One row of option_table.def. `cliName` is nullptr when there is no command-line option, `key`
// nullptr for a command-line-only option.
struct Option {
  const char* key;
  Kind kind;
  const char* cliName;
  char letter;
  const char* help;
};

// The settings (MIGRATE_SETTING rows) and the command-line-only options, in table order.
const std::vector<Option>& settings();
const std::vector<Option>& cliOnlyOptions();
// The keys of an admin preset (MIGRATE_PRESET_KEY rows), without any prefix.
const std::vector<Option>& presetKeys();

// The setting `key` ("migrate_source_port"), or nullptr.
const Option* findSetting(std::string_view key);

// A TCP port: 1 to 65535 in decimal digits, or nullopt.
std::optional<uint16_t> parsePort(std::string_view value);

// yes/no in any case: yes, y, true, on, 1 / no, n, false, off, 0. nullopt for anything else.
std::optional<bool> parseYesNo(std::string_view value);

// "500K", "2M", "1G" (K/M/G: 1024-based, either case) or a plain number, in bytes per second;
// "0" is unlimited. Anything else ("2MB", "fast", "-1", more than 2^50) is a Config error saying
// what is accepted.
Result<uint64_t> parseByteRate(const std::string& value);
// A connection count: "0" (unlimited) to 10000. Else a Config error.
Result<uint32_t> parseConnectionCount(const std::string& value);

// Checks `value` as a value of `kind`; `name` is the setting or option as the admin wrote it
// (for the message). Empty values are fine (unset). A value that holds a Dovecot %{variable} is
// checked only after expansion (a later call with the expanded value).
Status checkValue(Kind kind, const std::string& name, const std::string& value);

// How the admin writes the settings in dovecot.conf, for messages that tell where to set one.
// The Dovecot adapter declares it when a module loads (dovecot::declareConfigSyntax()).
enum class ConfigSyntax {
  Plugin,    // Dovecot 2.3: plugin { migrate_source_host = ... }, migrate_preset_<name>_<key>
  TopLevel,  // Dovecot 2.4: migrate_source_host = ..., migrate_preset_def <name> { <key> = ... }
};
void setConfigSyntax(ConfigSyntax syntax);
// "plugin { migrate_source_host }" (2.3) or "migrate_source_host" (2.4).
std::string settingRef(const std::string& key);
// "plugin { migrate_preset_work_host }" (2.3) or "migrate_preset_def work { host }" (2.4);
// `value` ("= ...") is written after the key when given.
std::string presetSettingRef(const std::string& name, const std::string& key, const std::string& value = "");
// How a user's quota limit is raised, for hints: "userdb quota_rule=*:storage=..." (2.3) or
// "userdb quota_storage_size=..." (2.4); likewise the message count.
std::string quotaStorageHint();
std::string quotaMessagesHint();

}  // namespace migrate::options
