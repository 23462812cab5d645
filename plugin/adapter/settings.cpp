#include "adapter/settings.h"
#include "adapter/dovecot_cxx.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <string>

#include "net/limits.h"

namespace migrate::dovecot {

namespace {

// The setting's value, or nullptr when it is unset or empty (an empty plugin setting means
// "not set" in Dovecot, e.g. `migrate_source_port =`).
const char* setting(struct mail_user* user, const char* name) {
  const char* v = mail_user_plugin_getenv(user, name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

Status badValue(const char* name, const std::string& value, const std::string& expected) {
  return Status(ErrorKind::Config, std::string("invalid ") + name + " '" + value + "'",
                "use " + expected + " in plugin { " + name + " } or the userdb field");
}

bool parsePort(const std::string& s, uint16_t& port) {
  if (s.empty() || s.size() > 5 ||
      !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return false;
  }
  unsigned long v = std::stoul(s);
  if (v < 1 || v > 65535) {
    return false;
  }
  port = static_cast<uint16_t>(v);
  return true;
}

bool parseBool(std::string s, bool& out) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s == "yes" || s == "1" || s == "true") {
    out = true;
    return true;
  }
  if (s == "no" || s == "0" || s == "false") {
    out = false;
    return true;
  }
  return false;
}

// migrate_preset_<name>_<key> = value, from dovecot.conf and userdb fields alike (both are
// plugin_envs: key, value, key, value ...). <name> has no '_' (see parseFilterArgs()).
Status loadAdminPresets(struct mail_user* user, PresetDefinitions& out) {
  const char* const prefix = "migrate_preset_";
  const size_t prefixLen = std::strlen(prefix);
  if (user->set == nullptr || !array_is_created(&user->set->plugin_envs)) {
    return Status::ok();
  }
  unsigned int count = 0;
  const char* const* envs = array_get(&user->set->plugin_envs, &count);
  for (unsigned int i = 0; i + 1 < count; i += 2) {
    std::string key = envs[i];
    if (key.compare(0, prefixLen, prefix) != 0 || envs[i + 1] == nullptr || *envs[i + 1] == '\0') {
      continue;
    }
    std::string rest = key.substr(prefixLen);
    size_t us = rest.find('_');
    if (us == 0 || us == std::string::npos || us + 1 == rest.size()) {
      return Status(ErrorKind::Config, "invalid setting " + key,
                    "preset settings are named migrate_preset_<name>_<key>, e.g. migrate_preset_oldisp_host");
    }
    // The value as the user sees it (%-expanded like every plugin setting).
    const char* value = mail_user_plugin_getenv(user, key.c_str());
    out[rest.substr(0, us)][rest.substr(us + 1)] = value != nullptr ? value : envs[i + 1];
  }
  return Status::ok();
}

}  // namespace

Status loadSourceSettings(struct mail_user* user, SourceOptions& source) {
  if (const char* v = setting(user, "migrate_source_host")) {
    source.host = v;
  }
  if (const char* v = setting(user, "migrate_source_port")) {
    uint16_t port = 0;
    if (!parsePort(v, port)) {
      return badValue("migrate_source_port", v, "a port number from 1 to 65535");
    }
    source.port = port;
  }
  if (const char* v = setting(user, "migrate_source_tls")) {
    Result<TlsMode> mode = parseTlsMode(v);
    if (!mode.isOk()) {
      return badValue("migrate_source_tls", v, "imaps, starttls or none");
    }
    source.tlsMode = mode.value();
    source.tlsModeSet = true;
  }
  if (const char* v = setting(user, "migrate_source_user")) {
    source.user = v;
  }
  if (const char* v = setting(user, "migrate_source_password")) {
    source.password = v;
  }
  if (const char* v = setting(user, "migrate_source_master_user")) {
    source.masterUser = v;
  }
  if (const char* v = setting(user, "migrate_source_oauth2_token_file")) {
    source.oauth2TokenFile = v;
  }
  if (const char* v = setting(user, "migrate_source_oauth2_token_command")) {
    source.oauth2TokenCommand = v;
  }
  if (const char* v = setting(user, "migrate_ca_file")) {
    source.tls.caFile = v;
  }
  if (const char* v = setting(user, "migrate_ca_dir")) {
    source.tls.caDir = v;
  }
  if (const char* v = setting(user, "migrate_insecure")) {
    bool insecure = false;
    if (!parseBool(v, insecure)) {
      return badValue("migrate_insecure", v, "yes or no");
    }
    source.tls.verify = !insecure;
  }
  if (const char* v = setting(user, "migrate_rawlog_dir")) {
    source.rawlogDir = v;
  }
  if (const char* v = setting(user, "migrate_compress")) {
    bool compress = true;
    if (!parseBool(v, compress)) {
      return badValue("migrate_compress", v, "yes or no");
    }
    source.compress = compress;
  }
  Status st = loadAdminPresets(user, source.adminPresets);
  if (!st.isOk()) {
    return st;
  }
  if (const char* v = setting(user, "migrate_preset")) {
    // Checked with the command line applied (--preset may replace it): applyPreset().
    source.presetName = v;
  }
  for (const auto& [name, field] : {std::pair{"migrate_include", &source.filter.include},
                                    std::pair{"migrate_exclude", &source.filter.exclude}}) {
    if (const char* v = setting(user, name)) {
      Result<std::vector<std::string>> patterns = parseFolderPatterns(v, name);
      if (!patterns.isOk()) {
        return patterns.status();
      }
      *field = patterns.value();
    }
  }
  if (const char* v = setting(user, "migrate_max_size")) {
    Result<uint64_t> size = parseMessageSize(v, "migrate_max_size");
    if (!size.isOk()) {
      return size.status();
    }
    source.filter.maxSize = size.value();
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (const char* v = setting(user, "migrate_since")) {
    Result<int64_t> t = parseFilterDate(v, "migrate_since", now);
    if (!t.isOk()) {
      return t.status();
    }
    source.filter.since = t.value();
    source.filter.sinceText = v;
  }
  if (const char* v = setting(user, "migrate_before")) {
    Result<int64_t> t = parseFilterDate(v, "migrate_before", now);
    if (!t.isOk()) {
      return t.status();
    }
    source.filter.before = t.value();
    source.filter.beforeText = v;
  }
  return Status::ok();
}

Status loadLimitSettings(struct mail_user* user, MigrationOptions& options) {
  if (const char* v = setting(user, "migrate_max_rate")) {
    Result<uint64_t> rate = net::parseByteRate(v);
    if (!rate.isOk()) {
      return badValue("migrate_max_rate", v, "bytes per second, e.g. 500K, 2M or 1G (0: unlimited)");
    }
    options.maxBytesPerSecond = rate.value();
  }
  if (const char* v = setting(user, "migrate_max_connections")) {
    Result<uint32_t> count = net::parseConnectionCount(v);
    if (!count.isOk()) {
      return badValue("migrate_max_connections", v, "a number from 1 to 10000 (0: unlimited)");
    }
    options.maxConnectionsPerHost = count.value();
  }
  return Status::ok();
}

}  // namespace migrate::dovecot
