#include "imap/command.h"

#include <algorithm>

namespace migrate::imap {

namespace {

enum class Form { Atom, Quoted, Literal };

// RFC 3501 ATOM-CHAR: any CHAR except atom-specials ("(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]").
bool isAtomChar(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) {
    return false;
  }
  switch (c) {
    case '(':
    case ')':
    case '{':
    case '%':
    case '*':
    case '"':
    case '\\':
    case ']':
      return false;
    default:
      return true;
  }
}

Form formOf(const std::string& s) {
  bool atom = !s.empty();
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0 || c == '\r' || c == '\n' || c >= 0x80) {
      return Form::Literal;
    }
    atom = atom && isAtomChar(c);
  }
  // "NIL" as an atom is a valid astring, but servers' parsers may take it for nil.
  if (atom && s.size() == 3 && (s[0] == 'N' || s[0] == 'n') && (s[1] == 'I' || s[1] == 'i') &&
      (s[2] == 'L' || s[2] == 'l')) {
    atom = false;
  }
  return atom ? Form::Atom : Form::Quoted;
}

std::string quoted(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += '"';
  return out;
}

std::string literal(const std::string& s, bool nonSync) {
  std::string out = "{" + std::to_string(s.size()) + (nonSync ? "+}\r\n" : "}\r\n");
  out += s;
  return out;
}

}  // namespace

std::string quoteAstring(const std::string& s, bool nonSyncLiteral) {
  switch (formOf(s)) {
    case Form::Atom:
      return s;
    case Form::Quoted:
      return quoted(s);
    case Form::Literal:
      break;
  }
  return literal(s, nonSyncLiteral);
}

std::string quoteString(const std::string& s, bool nonSyncLiteral) {
  if (formOf(s) == Form::Literal) {
    return literal(s, nonSyncLiteral);
  }
  return quoted(s);
}

bool needsContinuation(const std::string& encoded) {
  if (encoded.size() < 5 || encoded[0] != '{') {
    return false;
  }
  size_t i = 1;
  while (i < encoded.size() && encoded[i] >= '0' && encoded[i] <= '9') {
    ++i;
  }
  return i > 1 && encoded.compare(i, 3, "}\r\n") == 0;
}

std::vector<size_t> syncLiteralCuts(const std::string& line) {
  std::vector<size_t> cuts;
  const size_t n = line.size();
  size_t i = 0;
  while (i < n) {
    if (line[i] == '"') {
      for (++i; i < n && line[i] != '"'; ++i) {
        if (line[i] == '\\') {
          ++i;
        }
      }
      ++i;
      continue;
    }
    if (line[i] != '{') {
      ++i;
      continue;
    }
    size_t j = i + 1;
    uint64_t size = 0;
    while (j < n && j - i <= 19 && line[j] >= '0' && line[j] <= '9') {
      size = size * 10 + static_cast<uint64_t>(line[j] - '0');
      ++j;
    }
    const bool hasDigits = j > i + 1;
    const bool nonSync = j < n && line[j] == '+';
    if (nonSync) {
      ++j;
    }
    if (!hasDigits || line.compare(j, 3, "}\r\n") != 0) {
      ++i;
      continue;
    }
    j += 3;
    if (!nonSync) {
      cuts.push_back(j);
    }
    i = j + static_cast<size_t>(std::min<uint64_t>(size, n - j));
  }
  return cuts;
}

std::string uidSet(uint32_t first, uint32_t last) {
  if (last == 0) {
    return std::to_string(first) + ":*";
  }
  if (first == last) {
    return std::to_string(first);
  }
  return std::to_string(first) + ":" + std::to_string(last);
}

std::string compressUidSet(std::vector<uint32_t> uids) {
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  std::string out;
  size_t i = 0;
  while (i < uids.size()) {
    size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) {
      ++j;
    }
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(uids[i]);
    if (j > i) {
      out += ':';
      out += std::to_string(uids[j]);
    }
    i = j + 1;
  }
  return out;
}

}  // namespace migrate::imap
