#include "imap/response.h"

namespace migrate::imap {

namespace {

char asciiUpper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// uint64 fits 20 decimal digits; reject anything that would overflow.
bool parseDecimal(const std::string& s, uint64_t& value) {
  if (s.empty() || s.size() > 20) {
    return false;
  }
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) {
      return false;
    }
    v = v * 10 + digit;
  }
  value = v;
  return true;
}

}  // namespace

bool Value::isAtom(const char* upper) const {
  if (type != Type::Atom || upper == nullptr) {
    return false;
  }
  size_t i = 0;
  for (; i < text.size(); ++i) {
    if (upper[i] == '\0' || asciiUpper(text[i]) != asciiUpper(upper[i])) {
      return false;
    }
  }
  return upper[i] == '\0';
}

bool Value::isNumber() const {
  uint64_t v = 0;
  return type == Type::Atom && parseDecimal(text, v);
}

uint64_t Value::number() const {
  uint64_t v = 0;
  if (type != Type::Atom || !parseDecimal(text, v)) {
    return 0;
  }
  return v;
}

}  // namespace migrate::imap
