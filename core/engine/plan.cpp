#include "engine/plan.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>
#include <set>

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

namespace {

struct Candidate {
  PlannedFolder f;
  std::vector<std::string> levels;  // decoded levels after the prefix
  bool byAttribute = false;
  bool replaced = false;  // a level contained the destination separator
};

std::string joinLevels(const std::vector<std::string>& levels, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < levels.size(); i++) {
    out += (i ? sep : "") + levels[i];
  }
  return out;
}

// The source path with '/' between levels: how roots and rules are keyed.
std::string slashPath(const Candidate& c) {
  return joinLevels(c.levels, "/");
}

bool inOtherNamespace(const imap::ListEntry& e, const imap::NamespaceEntry& personal) {
  for (const std::string& p : personal.otherPrefixes) {
    if (!p.empty() && e.rawName.compare(0, p.size(), p) == 0 && p.size() > personal.prefix.size()) {
      return true;
    }
  }
  return false;
}

// The name relative to the personal namespace prefix ("" : the prefix itself).
std::string relativeName(const imap::ListEntry& e, const std::string& prefix) {
  std::string rel = e.rawName;
  if (prefix.empty()) {
    return rel;
  }
  if (rel.compare(0, prefix.size(), prefix) == 0) {
    return rel.substr(prefix.size());
  }
  std::string bare = prefix;
  if (e.delimiter != 0 && !bare.empty() && bare.back() == e.delimiter) {
    bare.pop_back();
  }
  return iequals(rel, bare) ? "INBOX" : rel;  // "INBOX" listed as the prefix itself on Courier
}

// The decoded levels of a folder outside INBOX's own name; false: nothing to plan.
bool decodeLevels(const imap::ListEntry& e, const std::string& prefix, Candidate& c,
                  std::vector<std::string>& warnings) {
  std::string rel = relativeName(e, prefix);
  if (rel.empty()) {
    return false;  // the namespace prefix itself, listed as \Noselect by some servers
  }
  Result<std::string> decoded = imap::mutf7Decode(rel);
  std::string name = rel;
  if (decoded.isOk()) {
    name = decoded.value();
  } else {
    warnings.push_back("folder name '" + rel + "' is not valid modified UTF-7; kept as sent");
  }
  c.levels = splitLevels(name, e.delimiter);
  c.levels.erase(std::remove(c.levels.begin(), c.levels.end(), std::string()), c.levels.end());
  if (c.levels.empty()) {
    return false;
  }
  if (iequals(c.levels[0], "INBOX")) {
    c.f.isInbox = c.levels.size() == 1;
    c.levels[0] = "INBOX";
  }
  return true;
}

// Rules 1-3 and 5 (by attribute or name) for one LIST entry; false: not planned.
bool candidateFor(const imap::ListEntry& e, const PlanInput& in, Candidate& c,
                  std::vector<std::string>& warnings) {
  if (inOtherNamespace(e, in.personal)) {
    return false;
  }
  c.f.rawName = e.rawName;
  c.f.selectable = !e.hasAttribute("\\Noselect");
  c.f.subscribed = in.subscribed.count(e.rawName) > 0;
  if (iequals(e.rawName, "INBOX")) {
    c.f.isInbox = true;
    c.levels = {"INBOX"};
  } else if (!decodeLevels(e, in.personal.prefix, c, warnings)) {
    return false;
  }
  c.f.delimiter = e.delimiter == 0 ? '/' : e.delimiter;
  c.f.sourceName = joinLevels(c.levels, std::string(1, c.f.delimiter));
  const std::string path = slashPath(c);
  c.f.important = e.hasAttribute("\\Important") || iequals(path, "[Gmail]/Important") ||
                  iequals(path, "[Google Mail]/Important");
  uint8_t attrUse = specialUseFromAttributes(e.attributes);
  c.byAttribute = attrUse != kSpecialNone;
  c.f.specialUse = c.byAttribute ? attrUse : specialUseFromName(path);
  return true;
}

std::vector<Candidate> candidates(const PlanInput& in, std::vector<std::string>& warnings) {
  std::vector<Candidate> cands;
  std::set<std::string> seenRaw;
  bool haveAttributeSpecialUse = false;
  for (const imap::ListEntry& e : in.entries) {
    if (e.hasAttribute("\\NonExistent") || !seenRaw.insert(e.rawName).second) {
      continue;
    }
    Candidate c;
    if (!candidateFor(e, in, c, warnings)) {
      continue;
    }
    haveAttributeSpecialUse = haveAttributeSpecialUse || c.byAttribute;
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
  return cands;
}

// Preset rules (rule 7): they override the server's marks and the well-known names. Returns
// the rules' destination names: slash path -> fallback destination levels.
std::map<std::string, std::vector<std::string>> applyFolderRules(std::vector<Candidate>& cands,
                                                                 const std::vector<FolderRule>& rules) {
  std::map<std::string, std::vector<std::string>> ruleRoots;
  for (Candidate& c : cands) {
    c.f.sourceSpecialUse = c.f.specialUse;
    for (const FolderRule& r : rules) {
      if (!folderPatternMatches(r.pattern, c.f.sourceName, c.f.delimiter, c.f.sourceSpecialUse,
                                c.f.important)) {
        continue;
      }
      if (r.specialUse != kSpecialNone) {
        c.f.specialUse = r.specialUse;
        c.byAttribute = true;
      }
      if (!r.destName.empty()) {
        ruleRoots[slashPath(c)] = splitLevels(r.destName, '/');
      }
      break;
    }
  }
  return ruleRoots;
}

constexpr uint8_t kMergeable = kSpecialSent | kSpecialDrafts | kSpecialTrash | kSpecialJunk | kSpecialArchive;

// Destination names, level by level, with the separator and unsafe characters replaced.
class DestNamer {
 public:
  explicit DestNamer(const PlanInput& in)
      : sep_(in.destSeparator), unsafe_(std::string(1, sep_) + in.destUnsafeChars) {}

  bool isUnsafe(const std::string& level) const { return level.find_first_of(unsafe_) != std::string::npos; }

  std::vector<std::string> levels(const std::vector<std::string>& levels) const {
    std::vector<std::string> out;
    for (std::string l : levels) {
      for (char c : unsafe_) {
        l = replaceAll(l, c, '_');
      }
      out.push_back(l);
    }
    return out;
  }

  std::string name(const std::vector<std::string>& destLevels) const {
    return joinLevels(destLevels, std::string(1, sep_));
  }

  char separator() const { return sep_; }

 private:
  char sep_;
  std::string unsafe_;
};

// Special-use folders (and their children) are re-rooted into the destination's folder of that
// use (rule 5), or a rule's destination name where there is none: source slash path -> levels.
std::map<std::string, std::vector<std::string>> specialRoots(
    const std::vector<Candidate>& cands, const PlanInput& in, const DestNamer& namer,
    const std::map<std::string, std::vector<std::string>>& ruleRoots) {
  std::map<uint8_t, std::string> destSpecial;
  for (const DestFolder& d : in.destFolders) {
    for (uint8_t bit = 1; bit != 0 && bit <= kSpecialTrash; bit = static_cast<uint8_t>(bit << 1)) {
      if ((d.specialUse & bit) != 0 && destSpecial.count(bit) == 0) {
        destSpecial[bit] = d.name;
      }
    }
  }
  std::map<std::string, std::vector<std::string>> roots;
  for (const Candidate& c : cands) {
    uint8_t use = c.f.specialUse & kMergeable;
    for (uint8_t bit = kSpecialArchive; use != 0 && bit <= kSpecialTrash;
         bit = static_cast<uint8_t>(bit << 1)) {
      if ((use & bit) != 0 && destSpecial.count(bit) != 0) {
        roots[slashPath(c)] = splitLevels(destSpecial[bit], namer.separator());
        break;
      }
    }
  }
  for (const auto& [path, levels] : ruleRoots) {
    if (roots.count(path) == 0) {
      roots[path] = namer.levels(levels);
    }
  }
  return roots;
}

// The destination name of `c`: under the longest special root that is a prefix of its path.
std::string destNameOf(Candidate& c, const DestNamer& namer,
                       const std::map<std::string, std::vector<std::string>>& roots) {
  std::vector<std::string> dest;
  size_t bestLen = 0;
  for (const auto& [root, destLevels] : roots) {
    std::vector<std::string> rootLevels = splitLevels(root, '/');
    if (rootLevels.size() > c.levels.size() || rootLevels.size() <= bestLen) {
      continue;
    }
    if (std::equal(rootLevels.begin(), rootLevels.end(), c.levels.begin())) {
      bestLen = rootLevels.size();
      dest = destLevels;
      std::vector<std::string> rest(c.levels.begin() + static_cast<long>(rootLevels.size()), c.levels.end());
      for (const std::string& l : namer.levels(rest)) {
        dest.push_back(l);
      }
    }
  }
  if (bestLen == 0) {
    dest = namer.levels(c.levels);
  }
  for (const std::string& l : c.levels) {
    c.replaced = c.replaced || namer.isUnsafe(l);
  }
  return namer.name(dest);
}

// Two folders whose names differ only by the separator replacement: the later ones get "_2",
// "_3"... Folders that map onto the same special-use folder on purpose (e.g. "Sent" and "Sent
// Items") are merged, with a warning.
void resolveCollisions(std::vector<Candidate>& cands,
                       const std::map<std::string, std::vector<std::string>>& roots,
                       std::vector<std::string>& warnings) {
  std::set<std::string> taken;
  std::map<std::string, std::vector<size_t>> byDest;
  for (size_t i = 0; i < cands.size(); i++) {
    byDest[cands[i].f.destName].push_back(i);
  }
  for (auto& [dest, idxs] : byDest) {
    if (idxs.size() < 2) {
      continue;
    }
    bool special =
        std::any_of(idxs.begin(), idxs.end(), [&](size_t i) { return roots.count(slashPath(cands[i])) > 0; });
    std::vector<size_t> others;
    std::copy_if(idxs.begin(), idxs.end(), std::back_inserter(others),
                 [&](size_t i) { return (cands[i].f.specialUse & kMergeable) == 0; });
    if (special && others.size() <= 1) {
      std::string names;
      for (size_t i : idxs) {
        names += (names.empty() ? "'" : ", '") + cands[i].f.sourceName + "'";
      }
      warnings.push_back("source folders " + names + " all go into the special-use folder '" + dest + "'");
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
      warnings.push_back("source folder '" + c.f.sourceName + "' would land in '" + dest +
                         "' together with '" + cands[idxs[0]].f.sourceName + "'; it goes to '" + candidate +
                         "' instead");
      c.f.destName = candidate;
    }
  }
}

}  // namespace

FolderPlan buildPlan(const PlanInput& in) {
  FolderPlan plan;
  plan.personalPrefix = in.personal.prefix;
  plan.destSeparator = in.destSeparator;
  std::vector<Candidate> cands = candidates(in, plan.warnings);
  std::map<std::string, std::vector<std::string>> ruleRoots = applyFolderRules(cands, in.folderRules);
  DestNamer namer(in);
  std::map<std::string, std::vector<std::string>> roots = specialRoots(cands, in, namer, ruleRoots);
  for (Candidate& c : cands) {
    c.f.destName = destNameOf(c, namer, roots);
  }
  resolveCollisions(cands, roots, plan.warnings);
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
