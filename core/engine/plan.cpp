#include "engine/plan.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "common/strings.h"
#include "engine/selection.h"
#include "imap/mutf7.h"

namespace migrate {

namespace {

bool iequals(const std::string& a, const std::string& b) {
  return lowerAscii(a) == lowerAscii(b);
}

struct NamedUse {
  const char* name;  // lower case (ASCII part); UTF-8 compared as bytes after ASCII lowering
  uint8_t use;
};

// Names seen on the servers our users migrate from (Exchange/Office 365, Gmail, Outlook/Thunderbird
// defaults, and the localized names of Czech, Slovak, German, French, Italian, Swedish and
// Norwegian/Danish webmails).
const NamedUse kWellKnownNames[] = {
    {"sent", kSpecialSent},
    {"sent items", kSpecialSent},
    {"sent messages", kSpecialSent},
    {"sent mail", kSpecialSent},
    {"sent-mail", kSpecialSent},
    {"[gmail]/sent mail", kSpecialSent},
    {"[google mail]/sent mail", kSpecialSent},
    {"gesendet", kSpecialSent},
    {"gesendete objekte", kSpecialSent},
    {"gesendete elemente", kSpecialSent},
    {"envoyés", kSpecialSent},
    {"éléments envoyés", kSpecialSent},
    {"odeslaná pošta", kSpecialSent},
    {"odeslané", kSpecialSent},
    {"odoslaná pošta", kSpecialSent},
    {"odoslané", kSpecialSent},
    {"posta inviata", kSpecialSent},
    {"inviata", kSpecialSent},
    {"skickat", kSpecialSent},
    {"skickade objekt", kSpecialSent},
    {"sendt", kSpecialSent},
    {"sendte elementer", kSpecialSent},
    {"drafts", kSpecialDrafts},
    {"draft", kSpecialDrafts},
    {"[gmail]/drafts", kSpecialDrafts},
    {"[google mail]/drafts", kSpecialDrafts},
    {"entwürfe", kSpecialDrafts},
    {"brouillons", kSpecialDrafts},
    {"koncepty", kSpecialDrafts},
    {"rozepsané", kSpecialDrafts},
    {"bozze", kSpecialDrafts},
    {"utkast", kSpecialDrafts},
    {"kladder", kSpecialDrafts},
    {"trash", kSpecialTrash},
    {"deleted items", kSpecialTrash},
    {"deleted messages", kSpecialTrash},
    {"deleted", kSpecialTrash},
    {"bin", kSpecialTrash},
    {"[gmail]/trash", kSpecialTrash},
    {"[gmail]/bin", kSpecialTrash},
    {"[google mail]/trash", kSpecialTrash},
    {"papierkorb", kSpecialTrash},
    {"gelöschte objekte", kSpecialTrash},
    {"gelöschte elemente", kSpecialTrash},
    {"corbeille", kSpecialTrash},
    {"koš", kSpecialTrash},
    {"kôš", kSpecialTrash},
    {"cestino", kSpecialTrash},
    {"papperskorgen", kSpecialTrash},
    {"borttaget", kSpecialTrash},
    {"borttagna objekt", kSpecialTrash},
    {"papirkurv", kSpecialTrash},
    {"slettede elementer", kSpecialTrash},
    {"junk", kSpecialJunk},
    {"spam", kSpecialJunk},
    {"junk e-mail", kSpecialJunk},
    {"junk email", kSpecialJunk},
    {"junk mail", kSpecialJunk},
    {"bulk mail", kSpecialJunk},
    {"[gmail]/spam", kSpecialJunk},
    {"[google mail]/spam", kSpecialJunk},
    {"nevyžádaná pošta", kSpecialJunk},
    {"nevyžiadaná pošta", kSpecialJunk},
    {"spam-verdacht", kSpecialJunk},
    {"courrier indésirable", kSpecialJunk},
    {"posta indesiderata", kSpecialJunk},
    {"skräppost", kSpecialJunk},
    {"uønsket e-post", kSpecialJunk},
    {"archive", kSpecialArchive},
    {"archives", kSpecialArchive},
    {"archiv", kSpecialArchive},
    {"archivio", kSpecialArchive},
    {"arkiv", kSpecialArchive},
};

std::string replaceAll(std::string s, char from, char to) {
  std::replace(s.begin(), s.end(), from, to);
  return s;
}

std::vector<std::string> splitLevels(const std::string& name, char delimiter) {
  std::vector<std::string> out;
  if (delimiter == 0) {
    out.push_back(name);
    return out;
  }
  size_t start = 0;
  while (true) {
    size_t p = name.find(delimiter, start);
    if (p == std::string::npos) {
      out.push_back(name.substr(start));
      break;
    }
    out.push_back(name.substr(start, p - start));
    start = p + 1;
  }
  return out;
}

}  // namespace

uint8_t specialUseFromAttributes(const std::vector<std::string>& attributes) {
  uint8_t use = kSpecialNone;
  for (const std::string& a : attributes) {
    std::string l = lowerAscii(a);
    if (l == "\\sent") {
      use |= kSpecialSent;
    } else if (l == "\\drafts") {
      use |= kSpecialDrafts;
    } else if (l == "\\trash") {
      use |= kSpecialTrash;
    } else if (l == "\\junk") {
      use |= kSpecialJunk;
    } else if (l == "\\archive") {
      use |= kSpecialArchive;
    } else if (l == "\\all") {
      use |= kSpecialAll;
    } else if (l == "\\flagged") {
      use |= kSpecialFlagged;
    }
  }
  return use;
}

uint8_t specialUseFromName(const std::string& decodedPath) {
  std::string l = lowerAscii(decodedPath);
  for (const NamedUse& n : kWellKnownNames) {
    if (l == n.name) {
      return n.use;
    }
  }
  if (l == "[gmail]/all mail" || l == "[google mail]/all mail") {
    return kSpecialAll;
  }
  if (l == "[gmail]/starred" || l == "[google mail]/starred") {
    return kSpecialFlagged;
  }
  return kSpecialNone;
}

const char* specialUseName(uint8_t specialUse) {
  switch (specialUse) {
    case kSpecialAll:
      return "\\All";
    case kSpecialArchive:
      return "\\Archive";
    case kSpecialDrafts:
      return "\\Drafts";
    case kSpecialFlagged:
      return "\\Flagged";
    case kSpecialJunk:
      return "\\Junk";
    case kSpecialSent:
      return "\\Sent";
    case kSpecialTrash:
      return "\\Trash";
    default:
      return "";
  }
}

FolderPlan buildPlan(const PlanInput& in) {
  FolderPlan plan;
  const char destSep = in.destSeparator;
  const std::string& prefix = in.personal.prefix;

  struct Candidate {
    PlannedFolder f;
    std::vector<std::string> levels;  // decoded levels after the prefix
    bool byAttribute = false;
    bool replaced = false;  // a level contained the destination separator
  };
  std::vector<Candidate> cands;
  bool haveAttributeSpecialUse = false;

  std::set<std::string> seenRaw;
  for (const imap::ListEntry& e : in.entries) {
    if (e.hasAttribute("\\NonExistent")) {
      continue;
    }
    if (!seenRaw.insert(e.rawName).second) {
      continue;
    }
    bool otherNs = false;
    for (const std::string& p : in.personal.otherPrefixes) {
      if (!p.empty() && e.rawName.compare(0, p.size(), p) == 0 && p.size() > prefix.size()) {
        otherNs = true;
      }
    }
    if (otherNs) {
      continue;
    }
    Candidate c;
    c.f.rawName = e.rawName;
    c.f.selectable = !e.hasAttribute("\\Noselect");
    c.f.subscribed = in.subscribed.count(e.rawName) > 0;
    std::string rel = e.rawName;
    if (iequals(rel, "INBOX")) {
      c.f.isInbox = true;
      c.levels = {"INBOX"};
    } else {
      if (!prefix.empty()) {
        if (rel.compare(0, prefix.size(), prefix) == 0) {
          rel = rel.substr(prefix.size());
        } else {
          std::string bare = prefix;
          if (e.delimiter != 0 && !bare.empty() && bare.back() == e.delimiter) {
            bare.pop_back();
          }
          if (iequals(rel, bare)) {
            rel = "INBOX";  // "INBOX" listed as the prefix itself on Courier
          }
        }
      }
      if (rel.empty()) {
        continue;  // the namespace prefix itself, listed as \Noselect by some servers
      }
      Result<std::string> decoded = imap::mutf7Decode(rel);
      std::string name = rel;
      if (decoded.isOk()) {
        name = decoded.value();
      } else {
        plan.warnings.push_back("folder name '" + rel + "' is not valid modified UTF-7; kept as sent");
      }
      c.levels = splitLevels(name, e.delimiter);
      c.levels.erase(std::remove(c.levels.begin(), c.levels.end(), std::string()), c.levels.end());
      if (c.levels.empty()) {
        continue;
      }
      if (c.levels.size() == 1 && iequals(c.levels[0], "INBOX")) {
        c.f.isInbox = true;
        c.levels[0] = "INBOX";
      } else if (!c.levels.empty() && iequals(c.levels[0], "INBOX")) {
        c.levels[0] = "INBOX";
      }
    }
    std::string srcSep(1, e.delimiter == 0 ? '/' : e.delimiter);
    std::string joinedSrc;
    std::string slashPath;
    for (size_t i = 0; i < c.levels.size(); i++) {
      joinedSrc += (i ? srcSep : "") + c.levels[i];
      slashPath += (i ? "/" : "") + c.levels[i];
    }
    c.f.sourceName = joinedSrc;
    c.f.delimiter = e.delimiter == 0 ? '/' : e.delimiter;
    c.f.important = e.hasAttribute("\\Important") || iequals(slashPath, "[Gmail]/Important") ||
                    iequals(slashPath, "[Google Mail]/Important");
    uint8_t attrUse = specialUseFromAttributes(e.attributes);
    if (attrUse != kSpecialNone) {
      haveAttributeSpecialUse = true;
      c.byAttribute = true;
      c.f.specialUse = attrUse;
    } else {
      c.f.specialUse = specialUseFromName(slashPath);
    }
    cands.push_back(std::move(c));
  }

  // Where the server marks special-use folders, trust only its marks: a folder merely named
  // "Spam" next to a \Junk folder is an ordinary folder there.
  if (haveAttributeSpecialUse) {
    for (Candidate& c : cands) {
      if (!c.byAttribute) {
        c.f.specialUse = kSpecialNone;
      }
    }
  }

  // Preset rules (rule 7): they override the server's marks and the well-known names.
  std::map<std::string, std::vector<std::string>> ruleRoots;  // slash path -> fallback dest levels
  for (Candidate& c : cands) {
    c.f.sourceSpecialUse = c.f.specialUse;
    for (const FolderRule& r : in.folderRules) {
      if (!folderPatternMatches(r.pattern, c.f.sourceName, c.f.delimiter, c.f.sourceSpecialUse,
                                c.f.important)) {
        continue;
      }
      std::string path;
      for (size_t i = 0; i < c.levels.size(); i++) {
        path += (i ? "/" : "") + c.levels[i];
      }
      if (r.specialUse != kSpecialNone) {
        c.f.specialUse = r.specialUse;
        c.byAttribute = true;
      }
      if (!r.destName.empty()) {
        ruleRoots[path] = splitLevels(r.destName, '/');
      }
      break;
    }
  }

  // Destination folders per special use.
  std::map<uint8_t, std::string> destSpecial;
  for (const DestFolder& d : in.destFolders) {
    for (uint8_t bit = 1; bit != 0 && bit <= kSpecialTrash; bit = static_cast<uint8_t>(bit << 1)) {
      if ((d.specialUse & bit) != 0 && destSpecial.count(bit) == 0) {
        destSpecial[bit] = d.name;
      }
    }
  }

  // Level-wise destination names; special-use folders (and their children) are re-rooted.
  std::map<std::string, std::vector<std::string>> specialRoots;  // source slash path -> dest levels
  const std::string unsafe = std::string(1, destSep) + in.destUnsafeChars;
  auto isUnsafe = [&](const std::string& l) { return l.find_first_of(unsafe) != std::string::npos; };
  auto levelsToDest = [&](const std::vector<std::string>& levels) {
    std::vector<std::string> out;
    for (std::string l : levels) {
      for (char c : unsafe) {
        l = replaceAll(l, c, '_');
      }
      out.push_back(l);
    }
    return out;
  };
  for (Candidate& c : cands) {
    uint8_t use = c.f.specialUse & static_cast<uint8_t>(kSpecialSent | kSpecialDrafts | kSpecialTrash |
                                                        kSpecialJunk | kSpecialArchive);
    for (uint8_t bit = kSpecialArchive; use != 0 && bit <= kSpecialTrash;
         bit = static_cast<uint8_t>(bit << 1)) {
      if ((use & bit) != 0 && destSpecial.count(bit) != 0) {
        std::string path;
        for (size_t i = 0; i < c.levels.size(); i++) {
          path += (i ? "/" : "") + c.levels[i];
        }
        specialRoots[path] = splitLevels(destSpecial[bit], destSep);
        break;
      }
    }
  }
  // A rule's destination name where the destination has no folder of the rule's special use.
  for (const auto& [path, levels] : ruleRoots) {
    if (specialRoots.count(path) == 0) {
      specialRoots[path] = levelsToDest(levels);
    }
  }

  std::map<std::string, size_t> used;  // dest name -> index of the candidate that has it
  for (size_t idx = 0; idx < cands.size(); idx++) {
    Candidate& c = cands[idx];
    std::vector<std::string> dest;
    // Longest special root that is a prefix of this folder's path.
    size_t bestLen = 0;
    for (const auto& [root, destLevels] : specialRoots) {
      std::vector<std::string> rootLevels = splitLevels(root, '/');
      if (rootLevels.size() > c.levels.size() || rootLevels.size() <= bestLen) {
        continue;
      }
      if (std::equal(rootLevels.begin(), rootLevels.end(), c.levels.begin())) {
        bestLen = rootLevels.size();
        dest = destLevels;
        std::vector<std::string> rest(c.levels.begin() + static_cast<long>(rootLevels.size()),
                                      c.levels.end());
        for (const std::string& l : levelsToDest(rest)) {
          dest.push_back(l);
        }
      }
    }
    if (bestLen == 0) {
      dest = levelsToDest(c.levels);
    }
    for (const std::string& l : c.levels) {
      c.replaced = c.replaced || isUnsafe(l);
    }
    std::string name;
    for (size_t i = 0; i < dest.size(); i++) {
      name += (i ? std::string(1, destSep) : "") + dest[i];
    }
    c.f.destName = name;
  }

  // Collisions: two folders whose names differ only by the separator replacement. Folders that
  // map onto the same special-use folder on purpose (e.g. "Sent" and "Sent Items") are merged.
  std::set<std::string> taken;
  std::map<std::string, std::vector<size_t>> byDest;
  for (size_t i = 0; i < cands.size(); i++) {
    byDest[cands[i].f.destName].push_back(i);
  }
  for (auto& [dest, idxs] : byDest) {
    if (idxs.size() < 2) {
      continue;
    }
    bool special = false;
    for (size_t i : idxs) {
      special = special || specialRoots.count([&] {
        std::string p;
        for (size_t k = 0; k < cands[i].levels.size(); k++) {
          p += (k ? "/" : "") + cands[i].levels[k];
        }
        return p;
      }()) > 0;
    }
    std::vector<size_t> roots;
    std::vector<size_t> others;
    const uint8_t mergeable = kSpecialSent | kSpecialDrafts | kSpecialTrash | kSpecialJunk | kSpecialArchive;
    for (size_t i : idxs) {
      ((cands[i].f.specialUse & mergeable) != 0 ? roots : others).push_back(i);
    }
    if (special && others.size() <= 1) {
      std::string names;
      for (size_t i : idxs) {
        names += (names.empty() ? "'" : ", '") + cands[i].f.sourceName + "'";
      }
      plan.warnings.push_back("source folders " + names + " all go into the special-use folder '" + dest +
                              "'");
      continue;
    }
    // The folder whose name needed no replacement keeps it.
    std::stable_sort(idxs.begin(), idxs.end(),
                     [&](size_t a, size_t b) { return !cands[a].replaced && cands[b].replaced; });
    if (special) {
      idxs = others;
    }
    for (size_t n = 1; n < idxs.size(); n++) {
      Candidate& c = cands[idxs[n]];
      std::string candidate;
      for (int k = static_cast<int>(n) + 1;; k++) {
        candidate = dest + "_" + std::to_string(k);
        if (byDest.count(candidate) == 0 && taken.count(candidate) == 0) {
          taken.insert(candidate);
          break;
        }
      }
      plan.warnings.push_back("source folder '" + c.f.sourceName + "' would land in '" + dest +
                              "' together with '" + cands[idxs[0]].f.sourceName + "'; it goes to '" +
                              candidate + "' instead");
      c.f.destName = candidate;
    }
  }

  // INBOX first, then by destination name (parents sort before their children).
  std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    if (a.f.isInbox != b.f.isInbox) {
      return a.f.isInbox;
    }
    return a.f.destName < b.f.destName;
  });
  for (Candidate& c : cands) {
    plan.folders.push_back(std::move(c.f));
  }
  return plan;
}

}  // namespace migrate
