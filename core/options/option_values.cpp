#include "options/option_values.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "common/strings.h"
#include "options/filter_values.h"
#include "options/service_choice.h"
#include "options/tls_mode.h"

// option_table.def names "no command-line option" so; the C includers ignore that column.
#define MIGRATE_NO_CLI nullptr

namespace migrate::options {

namespace {

std::vector<Option> tableRows(bool wantSettings) {
  std::vector<Option> rows;
  if (wantSettings) {
#define MIGRATE_SETTING(key, kind, cli, letter, help) rows.push_back({#key, Kind::kind, cli, letter, help});
#define MIGRATE_CLI_OPTION(cli, letter, kind, help)
#define MIGRATE_PRESET_KEY(key, kind, help)
#include "options/option_table.def"
#undef MIGRATE_SETTING
#undef MIGRATE_CLI_OPTION
#undef MIGRATE_PRESET_KEY
  } else {
#define MIGRATE_SETTING(key, kind, cli, letter, help)
#define MIGRATE_CLI_OPTION(cli, letter, kind, help) rows.push_back({nullptr, Kind::kind, cli, letter, help});
#define MIGRATE_PRESET_KEY(key, kind, help)
#include "options/option_table.def"
#undef MIGRATE_SETTING
#undef MIGRATE_CLI_OPTION
#undef MIGRATE_PRESET_KEY
  }
  return rows;
}

Status bad(const std::string& name, const std::string& value, const std::string& expected) {
  return Status(ErrorKind::Config, "invalid " + name + " '" + value + "'", "use " + expected);
}

}  // namespace

const std::vector<Option>& settings() {
  static const std::vector<Option> kRows = tableRows(true);
  return kRows;
}

const std::vector<Option>& cliOnlyOptions() {
  static const std::vector<Option> kRows = tableRows(false);
  return kRows;
}

const std::vector<Option>& presetKeys() {
  static const std::vector<Option> kRows = [] {
    std::vector<Option> rows;
#define MIGRATE_SETTING(key, kind, cli, letter, help)
#define MIGRATE_CLI_OPTION(cli, letter, kind, help)
#define MIGRATE_PRESET_KEY(key, kind, help) rows.push_back({#key, Kind::kind, nullptr, 0, help});
#include "options/option_table.def"
#undef MIGRATE_SETTING
#undef MIGRATE_CLI_OPTION
#undef MIGRATE_PRESET_KEY
    return rows;
  }();
  return kRows;
}

const Option* findSetting(std::string_view key) {
  for (const Option& o : settings()) {
    if (key == o.key) {
      return &o;
    }
  }
  return nullptr;
}

std::optional<uint16_t> parsePort(std::string_view value) {
  if (value.empty() || value.size() > 5 || value.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  const unsigned long port = std::stoul(std::string(value));
  if (port < 1 || port > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(port);
}

std::optional<bool> parseYesNo(std::string_view value) {
  const std::string v = lowerAscii(value);
  if (v == "yes" || v == "y" || v == "true" || v == "on" || v == "1") {
    return true;
  }
  if (v == "no" || v == "n" || v == "false" || v == "off" || v == "0") {
    return false;
  }
  return std::nullopt;
}

Status checkValue(Kind kind, const std::string& name, const std::string& value) {
  // Dovecot 2.4 checks at startup with "UNKNOWN_VALUE_WITH_VARIABLES" for a value that holds a
  // %{variable}; it is checked again, expanded, when a user's settings are read.
  if (value.empty() || value.find("%{") != std::string::npos || value == "UNKNOWN_VALUE_WITH_VARIABLES") {
    return Status::ok();
  }
  switch (kind) {
    case Kind::PORT:
      return parsePort(value) ? Status::ok() : bad(name, value, "a port number from 1 to 65535");
    case Kind::TLS:
      return parseTlsMode(value).isOk() ? Status::ok() : bad(name, value, "imaps, starttls or none");
    case Kind::YESNO:
      return parseYesNo(value) ? Status::ok() : bad(name, value, "yes or no");
    case Kind::RATE:
      return parseByteRate(value).isOk()
                 ? Status::ok()
                 : bad(name, value, "bytes per second, e.g. 500K, 2M or 1G (0: unlimited)");
    case Kind::CONNECTIONS:
      return parseConnectionCount(value).isOk() ? Status::ok()
                                                : bad(name, value, "a number from 1 to 10000 (0: unlimited)");
    case Kind::COUNT:
      return value.size() <= 9 && value.find_first_not_of("0123456789") == std::string::npos
                 ? Status::ok()
                 : bad(name, value, "a number (0: no limit)");
    case Kind::PATTERNS:
      return parseFolderPatterns(value, name).status();
    case Kind::SIZE:
      return parseMessageSize(value, name).status();
    case Kind::DATE:
      return parseFilterDate(value, name, static_cast<int64_t>(std::time(nullptr))).status();
    case Kind::SERVICE:
      return parseServiceChoice(value, name).status();
    case Kind::PATH:
      return value[0] == '/' ? Status::ok() : bad(name, value, "an absolute path");
    default:
      return Status::ok();
  }
}

namespace {
ConfigSyntax gSyntax = ConfigSyntax::Plugin;
}

void setConfigSyntax(ConfigSyntax syntax) {
  gSyntax = syntax;
}

std::string settingRef(const std::string& key) {
  return gSyntax == ConfigSyntax::Plugin ? "plugin { " + key + " }" : key;
}

std::string presetSettingRef(const std::string& name, const std::string& key, const std::string& value) {
  const std::string tail = value.empty() ? "" : " " + value;
  if (gSyntax == ConfigSyntax::Plugin) {
    return "plugin { migrate_preset_" + name + "_" + key + tail + " }";
  }
  return "migrate_preset_def " + name + " { " + key + tail + " }";
}

namespace {
constexpr uint64_t kMaxRate = 1ull << 50;
}  // namespace

Result<uint64_t> parseByteRate(const std::string& value) {
  const Status bad(ErrorKind::Config, "'" + value + "' is not a rate in bytes per second",
                   "give a number of bytes per second, optionally with K, M or G (1024-based), "
                   "e.g. 500K or 2M; 0 is unlimited");
  size_t digits = value.find_first_not_of("0123456789");
  if (value.empty() || digits == 0 || (digits == std::string::npos ? value.size() : digits) > 16) {
    return bad;
  }
  uint64_t n = std::stoull(value.substr(0, digits));
  unsigned shift = 0;
  if (digits != std::string::npos) {
    if (digits + 1 != value.size()) {
      return bad;
    }
    switch (std::tolower(static_cast<unsigned char>(value[digits]))) {
      case 'k':
        shift = 10;
        break;
      case 'm':
        shift = 20;
        break;
      case 'g':
        shift = 30;
        break;
      default:
        return bad;
    }
  }
  if (n > (kMaxRate >> shift)) {
    return bad;
  }
  return n << shift;
}

Result<uint32_t> parseConnectionCount(const std::string& value) {
  if (value.empty() || value.size() > 5 || value.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(value) > 10000) {
    return Status(ErrorKind::Config, "'" + value + "' is not a number of connections",
                  "give a number from 1 to 10000, or 0 for unlimited");
  }
  return static_cast<uint32_t>(std::stoul(value));
}

std::string quotaStorageHint() {
  return gSyntax == ConfigSyntax::Plugin ? "userdb quota_rule=*:storage=..."
                                         : "userdb quota_storage_size=...";
}

std::string quotaMessagesHint() {
  return gSyntax == ConfigSyntax::Plugin ? "userdb quota_rule=*:messages=..."
                                         : "userdb quota_message_count=...";
}

}  // namespace migrate::options
