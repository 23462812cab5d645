#include "engine/pop3_match.h"

#include <algorithm>
#include <iterator>
#include <set>

#include "common/strings.h"
#include "engine/guid.h"

namespace migrate {

namespace {

// Headers servers add, drop or rewrite between their POP3 and IMAP sides (lower case).
constexpr std::string_view kIgnoredHeaders[] = {"content-length",
                                                "return-path",
                                                "status",
                                                "x-imap",
                                                "x-imapbase",
                                                "x-keywords",
                                                "x-message-flag",
                                                "x-status",
                                                "x-uid",
                                                "x-uidl",
                                                "x-yahoo-newman-property"};

bool ignoredHeader(std::string_view name) {
  const std::string lower = lowerAscii(name);
  return std::find(std::begin(kIgnoredHeaders), std::end(kIgnoredHeaders), lower) !=
         std::end(kIgnoredHeaders);
}

bool validName(std::string_view name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

// A kept header line without spaces, tabs and CRs; every run of control, 8-bit or '?' bytes as
// one '?'.
void appendNormalized(std::string_view line, std::string& out) {
  bool inRun = false;
  for (unsigned char c : line) {
    if (c == ' ' || c == '\t' || c == '\r') {
      continue;
    }
    const bool odd = c < 0x20 || c >= 0x7f || c == '?';
    if (odd && inRun) {
      continue;
    }
    inRun = odd;
    out += odd ? '?' : static_cast<char>(c);
  }
  out += '\n';
}

}  // namespace

std::string headerDigest(std::string_view header) {
  std::string normalized;
  bool keep = false;  // the current header is kept
  size_t pos = 0;
  while (pos < header.size()) {
    size_t nl = header.find('\n', pos);
    std::string_view line =
        header.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? header.size() : nl + 1;
    if (line.find_first_not_of('\r') == std::string_view::npos) {
      break;  // the empty line (or one of CRs only) that ends the header
    }
    if (line[0] == ' ' || line[0] == '\t') {
      if (keep && line.find_first_not_of(" \t\r") != std::string_view::npos) {
        appendNormalized(line, normalized);
      }
      continue;
    }
    const size_t colon = line.find(':');
    const std::string_view name =
        colon == std::string_view::npos ? std::string_view() : line.substr(0, colon);
    keep = validName(name) && !ignoredHeader(name);
    if (keep) {
      appendNormalized(line, normalized);
    }
  }
  return sha256Hex(normalized);
}

bool usableUidl(std::string_view uidl) {
  return !uidl.empty() && uidl.size() <= 70 &&
         std::all_of(uidl.begin(), uidl.end(), [](unsigned char c) { return c >= 0x21 && c <= 0x7e; });
}

size_t pairedBySize(const std::vector<Pop3Side>& pop3, const std::vector<ImapSide>& imap) {
  size_t n = 0;
  while (n < pop3.size() && n < imap.size() && pop3[n].size == imap[n].size &&
         (n + 1 >= pop3.size() || pop3[n + 1].size != pop3[n].size)) {
    n++;
  }
  return n;
}

Pop3Match matchPop3(const std::vector<Pop3Side>& pop3, const std::vector<ImapSide>& imap) {
  Pop3Match m;
  std::set<std::string> seenUidls;
  std::vector<bool> usable(pop3.size());
  for (size_t i = 0; i < pop3.size(); i++) {
    usable[i] = usableUidl(pop3[i].uidl) && seenUidls.insert(pop3[i].uidl).second;
    if (!usable[i]) {
      m.unusable.push_back(pop3[i].uidl);
    }
  }
  const size_t prefix = pairedBySize(pop3, imap);
  for (size_t i = 0; i < prefix; i++) {
    if (usable[i]) {
      m.byUid[imap[i].uid] = {pop3[i].uidl, pop3[i].number};
    }
  }
  // The rest by digest: each digest's POP3 messages, in order, waiting for IMAP messages.
  std::map<std::string, std::vector<size_t>> waiting;
  for (size_t i = prefix; i < pop3.size(); i++) {
    waiting[pop3[i].digest].push_back(i);
  }
  std::map<std::string, size_t> taken;  // per digest: how many of `waiting` are paired
  for (size_t k = prefix; k < imap.size(); k++) {
    auto it = waiting.find(imap[k].digest);
    size_t& next = taken[imap[k].digest];
    if (imap[k].digest.empty() || it == waiting.end() || next >= it->second.size()) {
      m.imapOnly.push_back(imap[k].uid);
      continue;
    }
    const size_t i = it->second[next++];
    if (usable[i]) {
      m.byUid[imap[k].uid] = {pop3[i].uidl, pop3[i].number};
    }
  }
  std::vector<size_t> left;
  for (const auto& [digest, indexes] : waiting) {
    left.insert(left.end(), indexes.begin() + static_cast<long>(taken[digest]), indexes.end());
  }
  std::sort(left.begin(), left.end());
  for (size_t i : left) {
    m.pop3Only.push_back(pop3[i].uidl);
  }
  return m;
}

}  // namespace migrate
