#include "engine/preset.h"

#include <algorithm>
#include <cctype>

#include "engine/options.h"
#include "engine/selection.h"
#include "engine/sink.h"
#include "options/filter_values.h"
#include "options/option_values.h"

namespace migrate {

namespace {

// The destination names of the usual special-use folders, for destinations that have none.
std::vector<FolderRule> standardNames(const std::vector<std::pair<std::string, uint8_t>>& names) {
  std::vector<FolderRule> out;
  const std::pair<uint8_t, const char*> kDest[] = {{kSpecialSent, "Sent"},
                                                   {kSpecialDrafts, "Drafts"},
                                                   {kSpecialTrash, "Trash"},
                                                   {kSpecialJunk, "Junk"},
                                                   {kSpecialArchive, "Archive"}};
  for (const auto& [pattern, use] : names) {
    FolderRule r;
    r.pattern = pattern;
    r.specialUse = use;
    for (const auto& [u, d] : kDest) {
      if (u == use) {
        r.destName = d;
      }
    }
    out.push_back(r);
  }
  return out;
}

// Exchange's and Office 365's folders that hold no mail but appear over IMAP (English, German,
// Czech, French names; their subfolders too).
std::vector<std::string> exchangeNonMail() {
  std::vector<std::string> out;
  for (const char* n : {"Calendar",
                        "Contacts",
                        "Tasks",
                        "Notes",
                        "Journal",
                        "Sync Issues",
                        "Conversation History",
                        "RSS Feeds",
                        "Files",
                        "Kalender",
                        "Kontakte",
                        "Aufgaben",
                        "Notizen",
                        "Synchronisierungsprobleme",
                        "Kalendář",
                        "Kontakty",
                        "Úkoly",
                        "Poznámky",
                        "Deník",
                        "Problémy se synchronizací",
                        "Calendrier",
                        "Tâches",
                        "Problèmes de synchronisation"}) {
    out.emplace_back(n);
    out.emplace_back(std::string(n) + "/*");
  }
  return out;
}

std::vector<Preset> makeBuiltins() {
  std::vector<Preset> v;
  Preset generic;
  generic.name = "generic";
  v.push_back(generic);

  Preset gmail;
  gmail.name = "gmail";
  gmail.host = "imap.gmail.com";
  gmail.port = 993;
  gmail.tls = "imaps";
  // Views, not folders: every message in them is in another folder too (starred ones keep
  // \Flagged there).
  gmail.exclude = {
      "\\Important",          "\\Flagged", "[Gmail]/Important", "[Gmail]/Starred", "[Google Mail]/Important",
      "[Google Mail]/Starred"};
  gmail.excludeReason = "Gmail view, its messages are in other folders (gmail preset)";
  gmail.folderRules = standardNames({{"\\Sent", kSpecialSent},
                                     {"\\Drafts", kSpecialDrafts},
                                     {"\\Trash", kSpecialTrash},
                                     {"\\Junk", kSpecialJunk},
                                     {"\\All", kSpecialArchive},
                                     {"[Gmail]/All Mail", kSpecialArchive},
                                     {"[Google Mail]/All Mail", kSpecialArchive}});
  gmail.maxConnections = 10;  // Gmail allows 15 IMAP connections per account
  gmail.gmailLabels = true;
  v.push_back(gmail);

  Preset office;
  office.name = "office365";
  office.host = "outlook.office365.com";
  office.port = 993;
  office.tls = "imaps";
  office.exclude = exchangeNonMail();
  office.excludeReason = "not mail: Exchange calendar, contacts, tasks or notes (office365 preset)";
  office.folderRules = standardNames({{"Sent Items", kSpecialSent},
                                      {"Deleted Items", kSpecialTrash},
                                      {"Junk Email", kSpecialJunk},
                                      {"Junk E-mail", kSpecialJunk},
                                      {"Drafts", kSpecialDrafts},
                                      {"Archive", kSpecialArchive}});
  office.maxConnections = 8;  // Exchange Online throttles above a handful of connections per mailbox
  v.push_back(office);

  Preset exchange = office;
  exchange.name = "exchange";
  exchange.host.clear();  // on premises: the admin gives the host
  exchange.excludeReason = "not mail: Exchange calendar, contacts, tasks or notes (exchange preset)";
  v.push_back(exchange);
  return v;
}

const std::vector<Preset>& builtins() {
  static const std::vector<Preset> kBuiltins = makeBuiltins();
  return kBuiltins;
}

Status badSetting(const std::string& name, const std::string& key, const std::string& value,
                  const std::string& expected) {
  return Status(ErrorKind::Config, "invalid migrate_preset_" + name + "_" + key + " '" + value + "'",
                "use " + expected + " in " + options::presetSettingRef(name, key));
}

// "Sent Items=\Sent, Old=Archive/Old": pattern=target pairs.
Result<std::vector<FolderRule>> parseFolderMap(const std::string& name, const std::string& value) {
  MIGRATE_ASSIGN_OR_RETURN(std::vector<std::string> items,
                           parseFolderPatterns(value, "migrate_preset_" + name + "_folder_map"));
  const std::string expected =
      "comma-separated source=destination pairs, e.g. \"Sent Items=\\Sent, Old=Archive/Old\"";
  std::vector<FolderRule> out;
  for (const std::string& item : items) {
    size_t eq = item.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return badSetting(name, "folder_map", item, expected);
    }
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(' '));
      s.erase(s.find_last_not_of(' ') + 1);
      return s;
    };
    FolderRule r;
    r.pattern = trim(item.substr(0, eq));
    std::string target = trim(item.substr(eq + 1));
    if (r.pattern.empty() || target.empty()) {
      return badSetting(name, "folder_map", item, expected);
    }
    if (target[0] == '\\') {
      const std::pair<const char*, std::pair<uint8_t, const char*>> kUses[] = {
          {"\\sent", {kSpecialSent, "Sent"}},
          {"\\drafts", {kSpecialDrafts, "Drafts"}},
          {"\\trash", {kSpecialTrash, "Trash"}},
          {"\\junk", {kSpecialJunk, "Junk"}},
          {"\\archive", {kSpecialArchive, "Archive"}}};
      std::string l = target;
      std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
      for (const auto& [n, use] : kUses) {
        if (l == n) {
          r.specialUse = use.first;
          r.destName = use.second;
        }
      }
      if (r.specialUse == 0) {
        return badSetting(name, "folder_map", item,
                          "\\Sent, \\Drafts, \\Trash, \\Junk or \\Archive as a target");
      }
    } else {
      r.destName = target;
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace

const Preset* builtinPreset(const std::string& name) {
  for (const Preset& p : builtins()) {
    if (p.name == name) {
      return &p;
    }
  }
  return nullptr;
}

Result<Preset> findPreset(const std::string& name, const PresetDefinitions& admin) {
  auto it = admin.find(name);
  if (it == admin.end()) {
    const Preset* b = builtinPreset(name);
    if (b == nullptr) {
      std::string known = "generic, gmail, office365, exchange";
      for (const auto& [n, keys] : admin) {
        known += ", " + n;
      }
      return Status(
          ErrorKind::Config, "unknown preset '" + name + "'",
          "use one of " + known + ", or define it in " + options::presetSettingRef(name, "host", "= ..."));
    }
    return *b;
  }
  const std::map<std::string, std::string>& keys = it->second;
  Preset p;
  if (auto b = keys.find("base"); b != keys.end()) {
    const Preset* base = builtinPreset(b->second);
    if (base == nullptr) {
      return badSetting(name, "base", b->second, "a built-in preset: generic, gmail, office365 or exchange");
    }
    p = *base;
  }
  p.name = name;
  for (const auto& [key, value] : keys) {
    if (key == "base") {
      continue;
    }
    if (key == "host") {
      p.host = value;
    } else if (key == "port") {
      bool digits =
          !value.empty() && value.size() <= 5 && value.find_first_not_of("0123456789") == std::string::npos;
      unsigned long port = digits ? std::stoul(value) : 0;
      if (port < 1 || port > 65535) {
        return badSetting(name, key, value, "a port number from 1 to 65535");
      }
      p.port = static_cast<uint16_t>(port);
    } else if (key == "tls") {
      Result<TlsMode> mode = parseTlsMode(value);
      if (!mode.isOk()) {
        return badSetting(name, key, value, "imaps, starttls or none");
      }
      p.tls = tlsModeName(mode.value());
    } else if (key == "exclude") {
      MIGRATE_ASSIGN_OR_RETURN(std::vector<std::string> patterns,
                               parseFolderPatterns(value, "migrate_preset_" + name + "_exclude"));
      p.exclude.insert(p.exclude.end(), patterns.begin(), patterns.end());
      if (p.excludeReason.empty() || keys.count("base") == 0) {
        p.excludeReason = "excluded by preset " + name;
      }
    } else if (key == "folder_map") {
      MIGRATE_ASSIGN_OR_RETURN(std::vector<FolderRule> rules, parseFolderMap(name, value));
      // The admin's rules come first: they override the base preset's.
      rules.insert(rules.end(), p.folderRules.begin(), p.folderRules.end());
      p.folderRules = std::move(rules);
    } else if (key == "max_size") {
      MIGRATE_ASSIGN_OR_RETURN(uint64_t size,
                               parseMessageSize(value, "migrate_preset_" + name + "_max_size"));
      p.maxSize = size;
    } else if (key == "max_connections") {
      Result<uint32_t> n = options::parseConnectionCount(value);
      if (!n.isOk()) {
        return badSetting(name, key, value, "a number from 1 to 10000 (0: unlimited)");
      }
      p.maxConnections = n.value();
    } else if (key == "max_rate") {
      Result<uint64_t> rate = options::parseByteRate(value);
      if (!rate.isOk()) {
        return badSetting(name, key, value, "bytes per second, e.g. 500K, 2M or 1G (0: unlimited)");
      }
      p.maxRate = rate.value();
    } else if (key == "gmail_labels") {
      const std::optional<bool> yes = options::parseYesNo(value);
      if (!yes) {
        return badSetting(name, key, value, "yes or no");
      }
      p.gmailLabels = *yes;
    } else {
      std::string known;
      for (const options::Option& o : options::presetKeys()) {
        known += (known.empty() ? "" : ", ") + std::string(o.key);
      }
      return Status(ErrorKind::Config, "unknown setting " + options::presetSettingRef(name, key),
                    "a preset knows " + known);
    }
  }
  return p;
}

Result<Preset> applyPreset(SourceOptions& source) {
  if (source.presetName.empty()) {
    return Preset();
  }
  MIGRATE_ASSIGN_OR_RETURN(Preset p, findPreset(source.presetName, source.adminPresets));
  const Preset& preset = p;
  if (source.host.empty()) {
    source.host = preset.host;
  }
  // Port and TLS mode go together: a TLS mode chosen by the admin keeps its usual port.
  if (!source.tlsModeSet && source.port == 0) {
    Result<TlsMode> mode = parseTlsMode(preset.tls);
    if (!preset.tls.empty() && mode.isOk()) {
      source.tlsMode = mode.value();
      source.tlsModeSet = true;
    }
    source.port = preset.port;
  }
  return p;
}

}  // namespace migrate
