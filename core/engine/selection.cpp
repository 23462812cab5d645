#include "engine/selection.h"

#include <algorithm>

#include "common/strings.h"
#include "common/textfile.h"
#include "engine/sink.h"

namespace migrate {

namespace {

// IMAP LIST wildcard match: '*' anything, '%' anything but '/'.
bool wildMatch(const char* p, const char* n) {
  while (*p != '\0') {
    if (*p == '*' || *p == '%') {
      const bool any = *p == '*';
      while (*p == '*' || *p == '%') {
        p++;
      }
      for (const char* k = n;; k++) {
        if (wildMatch(p, k)) {
          return true;
        }
        if (*k == '\0' || (!any && *k == '/')) {
          return false;
        }
      }
    }
    if (*n != *p) {
      return false;
    }
    p++;
    n++;
  }
  return *n == '\0';
}

// INBOX as a first level is case-insensitive (RFC 3501 5.1): spell it INBOX.
std::string canonicalInbox(std::string s) {
  if (s.size() >= 5 && lowerAscii(s.substr(0, 5)) == "inbox" && (s.size() == 5 || s[5] == '/')) {
    s.replace(0, 5, "INBOX");
  }
  return s;
}

}  // namespace

bool MessageRules::widenedBy(const MessageRules& next) const {
  if (maxSize != 0 && (next.maxSize == 0 || next.maxSize > maxSize)) {
    return true;
  }
  if (since != 0 && (next.since == 0 || next.since < since)) {
    return true;
  }
  if (before != 0 && (next.before == 0 || next.before > before)) {
    return true;
  }
  return dedupe && !next.dedupe;
}

std::string MessageRules::serialize() const {
  if (!any()) {
    return "-";
  }
  return std::to_string(maxSize) + "," + std::to_string(since) + "," + std::to_string(before) + "," +
         (dedupe ? "1" : "0");
}

bool MessageRules::parse(const std::string& text, MessageRules& out) {
  out = MessageRules();
  if (text == "-") {
    return true;
  }
  std::vector<std::string> f;
  size_t start = 0;
  for (;;) {
    size_t c = text.find(',', start);
    f.push_back(text.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) {
      break;
    }
    start = c + 1;
  }
  if (f.size() != 4 || !textfile::parseU64(f[0], out.maxSize) || !textfile::parseI64(f[1], out.since) ||
      !textfile::parseI64(f[2], out.before) || (f[3] != "0" && f[3] != "1")) {
    return false;
  }
  out.dedupe = f[3] == "1";
  return true;
}

const char* skipReason(const MessageRules& rules, uint64_t size, int64_t internalDate) {
  if (rules.maxSize != 0 && size > rules.maxSize) {
    return kSkipTooLarge;
  }
  if ((rules.since != 0 && internalDate < rules.since) ||
      (rules.before != 0 && internalDate >= rules.before)) {
    return kSkipDate;
  }
  return nullptr;
}

bool folderPatternMatches(const std::string& pattern, const std::string& name, char sep, uint8_t specialUse,
                          bool important) {
  if (!pattern.empty() && pattern[0] == '\\') {
    const SpecialUseName* s = findSpecialUseName(pattern);
    if (s == nullptr) {
      return false;
    }
    return s->use == kSpecialNone ? important : (specialUse & s->use) != 0;
  }
  std::string n = name;
  if (sep != 0 && sep != '/') {
    std::replace(n.begin(), n.end(), sep, '/');
  }
  return wildMatch(canonicalInbox(pattern).c_str(), canonicalInbox(n).c_str());
}

}  // namespace migrate
