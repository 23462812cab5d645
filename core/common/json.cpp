#include "common/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace migrate::json {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 (overlong forms, surrogates and
// code points above U+10FFFF are invalid).
size_t utf8Length(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    return 1;
  }
  size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = utf8Length(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
  return out;
}

// --- Writer ---------------------------------------------------------------------------------

void Writer::newline() {
  if (indent_ > 0) {
    out_ += '\n';
    out_.append(stack_.size() * static_cast<size_t>(indent_), ' ');
  }
}

void Writer::beforeValue() {
  if (afterKey_) {
    afterKey_ = false;
    return;
  }
  if (!stack_.empty()) {
    if (stack_.back().count++ > 0) {
      out_ += ',';
    }
    newline();
  }
}

Writer& Writer::beginObject() {
  beforeValue();
  out_ += '{';
  stack_.push_back({true, 0});
  return *this;
}

Writer& Writer::beginArray() {
  beforeValue();
  out_ += '[';
  stack_.push_back({false, 0});
  return *this;
}

Writer& Writer::endObject() {
  const bool any = !stack_.empty() && stack_.back().count > 0;
  if (!stack_.empty()) {
    stack_.pop_back();
  }
  if (any) {
    newline();
  }
  out_ += '}';
  return *this;
}

Writer& Writer::endArray() {
  const bool any = !stack_.empty() && stack_.back().count > 0;
  if (!stack_.empty()) {
    stack_.pop_back();
  }
  if (any) {
    newline();
  }
  out_ += ']';
  return *this;
}

Writer& Writer::key(std::string_view name) {
  beforeValue();
  out_ += quote(name);
  out_ += indent_ > 0 ? ": " : ":";
  afterKey_ = true;
  return *this;
}

Writer& Writer::value(std::string_view s) {
  beforeValue();
  out_ += quote(s);
  return *this;
}

Writer& Writer::value(bool b) {
  beforeValue();
  out_ += b ? "true" : "false";
  return *this;
}

Writer& Writer::value(int64_t n) {
  beforeValue();
  out_ += std::to_string(n);
  return *this;
}

Writer& Writer::value(uint64_t n) {
  beforeValue();
  out_ += std::to_string(n);
  return *this;
}

Writer& Writer::value(double d) {
  beforeValue();
  if (!std::isfinite(d)) {
    out_ += "null";
    return *this;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", d);
  // "1.500" -> "1.5", "2.000" -> "2"
  std::string s = buf;
  while (!s.empty() && s.back() == '0') {
    s.pop_back();
  }
  if (!s.empty() && s.back() == '.') {
    s.pop_back();
  }
  out_ += s == "-0" ? "0" : s;
  return *this;
}

Writer& Writer::null() {
  beforeValue();
  out_ += "null";
  return *this;
}

// --- Value ----------------------------------------------------------------------------------

const Value* Value::get(std::string_view name) const {
  for (const auto& [k, v] : members_) {
    if (k == name) {
      return &v;
    }
  }
  return nullptr;
}

double Value::asDouble(double fallback) const {
  if ((type_ != Type::Number && type_ != Type::String) || text_.empty()) {
    return fallback;
  }
  char* end = nullptr;
  const double d = std::strtod(text_.c_str(), &end);
  if (end == nullptr || *end != '\0' || !std::isfinite(d)) {
    return fallback;
  }
  return d;
}

uint64_t Value::asU64(uint64_t fallback) const {
  if ((type_ != Type::Number && type_ != Type::String) || text_.empty() || text_.size() > 20) {
    return fallback;
  }
  uint64_t v = 0;
  for (char c : text_) {
    if (c < '0' || c > '9') {
      return fallback;
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) {
      return fallback;
    }
    v = v * 10 + digit;
  }
  return v;
}

// --- Parser ---------------------------------------------------------------------------------

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<Value> run() {
    Value v;
    skipSpace();
    if (!parseValue(v, 0)) {
      return error();
    }
    skipSpace();
    if (pos_ != s_.size()) {
      fail("unexpected text after the value");
      return error();
    }
    return v;
  }

 private:
  Status error() const {
    return Status(ErrorKind::Protocol, "invalid JSON at byte " + std::to_string(errPos_) + ": " + err_);
  }
  bool fail(const char* what) {
    if (err_.empty()) {
      err_ = what;
      errPos_ = pos_;
    }
    return false;
  }
  void skipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) {
      return fail("unknown literal");
    }
    pos_ += word.size();
    return true;
  }

  bool parseValue(Value& v, size_t depth) {
    if (depth >= kMaxDepth) {
      return fail("nested too deeply");
    }
    if (pos_ >= s_.size()) {
      return fail("unexpected end of input");
    }
    switch (s_[pos_]) {
      case '{':
        return parseObject(v, depth);
      case '[':
        return parseArray(v, depth);
      case '"':
        v.type_ = Value::Type::String;
        return parseString(v.text_);
      case 't':
        v.type_ = Value::Type::Bool;
        v.bool_ = true;
        return literal("true");
      case 'f':
        v.type_ = Value::Type::Bool;
        return literal("false");
      case 'n':
        v.type_ = Value::Type::Null;
        return literal("null");
      default:
        return parseNumber(v);
    }
  }

  bool parseObject(Value& v, size_t depth) {
    v.type_ = Value::Type::Object;
    ++pos_;
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') {
        return fail("expected a member name");
      }
      std::string name;
      if (!parseString(name)) {
        return false;
      }
      skipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') {
        return fail("expected ':'");
      }
      ++pos_;
      skipSpace();
      Value member;
      if (!parseValue(member, depth + 1)) {
        return false;
      }
      v.members_.emplace_back(std::move(name), std::move(member));
      skipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool parseArray(Value& v, size_t depth) {
    v.type_ = Value::Type::Array;
    ++pos_;
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      skipSpace();
      Value item;
      if (!parseValue(item, depth + 1)) {
        return false;
      }
      v.items_.push_back(std::move(item));
      skipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool hex4(uint32_t& out) {
    if (pos_ + 4 > s_.size()) {
      return fail("truncated \\u escape");
    }
    out = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = s_[pos_ + k];
      uint32_t d = 0;
      if (c >= '0' && c <= '9') {
        d = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return fail("bad \\u escape");
      }
      out = out * 16 + d;
    }
    pos_ += 4;
    return true;
  }

  bool parseString(std::string& out) {
    ++pos_;  // the opening quote
    while (pos_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) {
        return fail("control character in a string");
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      if (++pos_ >= s_.size()) {
        break;
      }
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) {
            return false;
          }
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            uint32_t low = 0;
            if (!hex4(low)) {
              return false;
            }
            if (low >= 0xDC00 && low <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else {
              appendUtf8(out, 0xFFFD);
              cp = low;
            }
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;  // a lone surrogate
          }
          appendUtf8(out, cp);
          break;
        }
        default:
          --pos_;
          return fail("unknown escape");
      }
    }
    return fail("unterminated string");
  }

  bool parseNumber(Value& v) {
    const size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') {
      ++pos_;
    }
    auto digits = [this] {
      const size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        ++pos_;
      }
      return pos_ - from;
    };
    const size_t intDigits = digits();
    if (intDigits == 0) {
      pos_ = start;
      return fail("expected a value");
    }
    if (intDigits > 1 && s_[pos_ - intDigits] == '0') {
      return fail("leading zero in a number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) {
        return fail("expected digits after '.'");
      }
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) {
        ++pos_;
      }
      if (digits() == 0) {
        return fail("expected digits in the exponent");
      }
    }
    v.type_ = Value::Type::Number;
    v.text_ = std::string(s_.substr(start, pos_ - start));
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string err_;
  size_t errPos_ = 0;
};

Result<Value> parse(std::string_view text) {
  return Parser(text).run();
}

}  // namespace migrate::json
