// libFuzzer target: the folder plan (core/engine/plan.h) built from a hostile server's folder list.
//
// Input: text lines. Lines that start with "dest " describe the destination:
//   dest separator <c>             the destination hierarchy separator (default '/')
//   dest unsafe <chars>            characters the destination storage cannot keep in names
//   dest folder <name> [\Sent ..]  an existing destination folder and its special-use flags
// Everything else is what the source server sent for NAMESPACE, LIST and LSUB: it goes through the
// ResponseParser and becomes ListEntry/NamespaceEntry/LSUB names the way Session does it (up to
// the first parse error).
//
// The destination side is sanitized to what Dovecot can report (separator: printable punctuation
// other than '_'; folder names without empty levels); the source side is not.
//
// Checks, beyond ASan/UBSan: every selectable folder gets a non-empty destination name with no
// empty level (no separator at either end, none doubled); no two folders that are not special-use
// share a destination name (only special-use folders are merged on purpose; a raw name the server
// lists twice is one folder).

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/plan.h"
#include "fuzz_util.h"
#include "imap/parser.h"

namespace migrate {
namespace {

using fuzz::escaped;
using imap::Response;
using imap::Value;

constexpr uint8_t kMergeableUses =
    kSpecialSent | kSpecialDrafts | kSpecialTrash | kSpecialJunk | kSpecialArchive;

bool startsWith(const std::string& s, const char* prefix) {
  return s.compare(0, std::char_traits<char>::length(prefix), prefix) == 0;
}

bool validDestSeparator(char c) {
  return c > 0x20 && c < 0x7f && c != '_' && !std::isalnum(static_cast<unsigned char>(c));
}

bool validDestName(const std::string& name, char sep) {
  if (name.empty() || name.front() == sep || name.back() == sep) {
    return false;
  }
  return name.find(std::string(2, sep)) == std::string::npos;
}

void addDestFolder(const std::string& spec, PlanInput& in) {
  // "<name> [\Flag ...]": trailing words that start with '\' are special-use flags.
  std::vector<std::string> flags;
  std::string name = spec;
  while (true) {
    const size_t sp = name.rfind(' ');
    if (sp == std::string::npos || name.compare(sp + 1, 1, "\\") != 0) {
      break;
    }
    flags.push_back(name.substr(sp + 1));
    name.resize(sp);
  }
  DestFolder d;
  d.name = name;
  d.specialUse = specialUseFromAttributes(flags);
  in.destFolders.push_back(d);
}

// As Session::personalNamespace(), list() and lsub() read the responses.
void addResponse(const Response& u, PlanInput& in, bool& haveNamespace) {
  if (u.kind != Response::Kind::Untagged) {
    return;
  }
  if (u.status == "NAMESPACE" && !u.args.empty() && !haveNamespace) {
    const Value& personal = u.args[0];
    if (personal.type == Value::Type::List && !personal.list.empty() &&
        personal.list[0].type == Value::Type::List && personal.list[0].list.size() >= 2) {
      const Value& first = personal.list[0];
      in.personal.prefix = first.list[0].text;
      if (first.list[1].type != Value::Type::Nil && !first.list[1].text.empty()) {
        in.personal.delimiter = first.list[1].text[0];
      }
      haveNamespace = true;
    }
    for (size_t n = 1; n < u.args.size() && n < 3; n++) {
      if (u.args[n].type != Value::Type::List) {
        continue;
      }
      for (const Value& e : u.args[n].list) {
        if (e.type == Value::Type::List && !e.list.empty() && !e.list[0].text.empty()) {
          in.personal.otherPrefixes.push_back(e.list[0].text);
        }
      }
    }
  } else if (u.status == "LIST" && u.args.size() >= 3) {
    imap::ListEntry e;
    if (u.args[0].type == Value::Type::List) {
      for (const Value& a : u.args[0].list) {
        e.attributes.push_back(a.text);
      }
    }
    if (u.args[1].type != Value::Type::Nil && !u.args[1].text.empty()) {
      e.delimiter = u.args[1].text[0];
    }
    e.rawName = u.args[2].text;
    in.entries.push_back(std::move(e));
  } else if (u.status == "LSUB" && u.args.size() >= 3) {
    in.subscribed.insert(u.args[2].text);
  }
}

PlanInput planInput(const std::string& text) {
  PlanInput in;
  std::string server;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    const size_t end = nl == std::string::npos ? text.size() : nl + 1;
    std::string line = text.substr(pos, end - pos);
    pos = end;
    if (!startsWith(line, "dest ")) {
      server += line;
      continue;
    }
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
      line.pop_back();
    }
    if (startsWith(line, "dest separator ") && line.size() > 15) {
      in.destSeparator = line[15];
    } else if (startsWith(line, "dest unsafe ")) {
      in.destUnsafeChars = line.substr(12);
    } else if (startsWith(line, "dest folder ")) {
      addDestFolder(line.substr(12), in);
    }
  }
  if (!validDestSeparator(in.destSeparator)) {
    in.destSeparator = '/';
  }
  std::vector<DestFolder> dest;
  for (DestFolder& d : in.destFolders) {
    if (validDestName(d.name, in.destSeparator)) {
      dest.push_back(std::move(d));
    }
  }
  in.destFolders = std::move(dest);

  imap::ParserLimits limits;
  limits.maxLiteralSize = 1 << 16;  // the server's bytes are small; keep the fuzzer's memory small
  imap::ResponseParser parser(limits);
  std::vector<Response> responses;
  (void)parser.feed(server.data(), server.size(), responses);  // on error: what parsed so far
  bool haveNamespace = false;
  for (const Response& r : responses) {
    addResponse(r, in, haveNamespace);
  }
  return in;
}

std::string describeFolder(const PlannedFolder& f) {
  return "\"" + escaped(f.rawName) + "\" -> \"" + escaped(f.destName) + "\"";
}

}  // namespace
}  // namespace migrate

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace migrate;
  const PlanInput in = planInput(std::string(reinterpret_cast<const char*>(data), size));
  const FolderPlan plan = buildPlan(in);

  const char sep = in.destSeparator;
  std::map<std::string, const PlannedFolder*> ordinary;  // dest name -> a folder without special use
  for (const PlannedFolder& f : plan.folders) {
    if (!f.selectable) {
      continue;
    }
    FUZZ_CHECK(validDestName(f.destName, sep),
               "bad destination name (separator '" + std::string(1, sep) + "'): " + describeFolder(f));
    if ((f.specialUse & kMergeableUses) != 0) {
      continue;
    }
    // The same raw name listed twice is one source folder: it may well land in one place.
    auto [it, inserted] = ordinary.emplace(f.destName, &f);
    FUZZ_CHECK(inserted || it->second->rawName == f.rawName,
               "two folders merged into one: " + describeFolder(*it->second) + " and " + describeFolder(f));
  }
  return 0;
}
