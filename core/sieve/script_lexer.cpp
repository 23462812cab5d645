#include "sieve/script_lexer.h"

#include <cctype>

#include "common/strings.h"

namespace migrate::sieve {

namespace {

bool isIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
}
bool isIdentChar(char c) {
  return isIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)) != 0;
}
bool isDigit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

class Lexer {
 public:
  explicit Lexer(const std::string& s) : s_(s) {}

  Result<std::vector<ScriptToken>> run() {
    std::vector<ScriptToken> out;
    for (;;) {
      MIGRATE_RETURN_IF_ERROR(skipSpaceAndComments());
      if (pos_ >= s_.size()) {
        return out;
      }
      ScriptToken t;
      t.begin = pos_;
      t.line = line_;
      MIGRATE_RETURN_IF_ERROR(readToken(t));
      t.end = pos_;
      out.push_back(std::move(t));
    }
  }

 private:
  Status error(const std::string& what) const {
    return Status(ErrorKind::Protocol, "line " + std::to_string(line_) + ": " + what);
  }

  void advance() {
    if (s_[pos_] == '\n') {
      line_++;
    }
    pos_++;
  }

  Status skipSpaceAndComments() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        advance();
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') {
          pos_++;
        }
      } else if (c == '/' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '*') {
        size_t close = s_.find("*/", pos_ + 2);
        if (close == std::string::npos) {
          return error("a comment /* ... is not closed");
        }
        while (pos_ < close + 2) {
          advance();
        }
      } else {
        return Status::ok();
      }
    }
    return Status::ok();
  }

  Status readToken(ScriptToken& t) {
    char c = s_[pos_];
    if (c == '"') {
      t.kind = ScriptToken::Kind::Quoted;
      return readQuoted(t.value);
    }
    if (c == ':' && pos_ + 1 < s_.size() && isIdentStart(s_[pos_ + 1])) {
      t.kind = ScriptToken::Kind::Tag;
      pos_++;
      t.value = readWhile(isIdentChar);
      return Status::ok();
    }
    if (isIdentStart(c)) {
      t.value = readWhile(isIdentChar);
      if (lowerAscii(t.value) == "text" && pos_ < s_.size() && s_[pos_] == ':') {
        t.kind = ScriptToken::Kind::MultiLine;
        t.value.clear();
        pos_++;
        return readMultiLine(t.value);
      }
      t.kind = ScriptToken::Kind::Identifier;
      return Status::ok();
    }
    if (isDigit(c)) {
      t.kind = ScriptToken::Kind::Number;
      t.value = readWhile(isDigit);
      if (pos_ < s_.size() && std::string("KMGkmg").find(s_[pos_]) != std::string::npos) {
        t.value += s_[pos_++];
      }
      return Status::ok();
    }
    if (std::string(";,[]{}()").find(c) != std::string::npos) {
      t.kind = ScriptToken::Kind::Punct;
      t.value = std::string(1, c);
      pos_++;
      return Status::ok();
    }
    return error("unexpected character '" + std::string(1, c) + "'");
  }

  std::string readWhile(bool (*pred)(char)) {
    size_t from = pos_;
    while (pos_ < s_.size() && pred(s_[pos_])) {
      pos_++;
    }
    return s_.substr(from, pos_ - from);
  }

  // RFC 5228 §2.4.2: a backslash makes the next character literal.
  Status readQuoted(std::string& value) {
    uint32_t startLine = line_;
    pos_++;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '"') {
        pos_++;
        return Status::ok();
      }
      if (c == '\\' && pos_ + 1 < s_.size()) {
        pos_++;
        c = s_[pos_];
      }
      value += c;
      advance();
    }
    return Status(ErrorKind::Protocol,
                  "line " + std::to_string(startLine) + ": a quoted string is not closed");
  }

  // After "text:": blanks, an optional # comment, the line end; then lines up to a lone ".".
  Status readMultiLine(std::string& value) {
    uint32_t startLine = line_;
    size_t eol = s_.find('\n', pos_);
    if (eol == std::string::npos) {
      return error("a text: string has no line after it");
    }
    while (pos_ <= eol) {
      advance();
    }
    while (pos_ < s_.size()) {
      size_t end = s_.find('\n', pos_);
      size_t next = end == std::string::npos ? s_.size() : end + 1;
      std::string lineText = s_.substr(pos_, next - pos_);
      std::string bare = lineText;
      while (!bare.empty() && (bare.back() == '\n' || bare.back() == '\r')) {
        bare.pop_back();
      }
      while (pos_ < next) {
        advance();
      }
      if (bare == ".") {
        return Status::ok();
      }
      value += lineText[0] == '.' ? lineText.substr(1) : lineText;
    }
    return Status(ErrorKind::Protocol,
                  "line " + std::to_string(startLine) + ": a text: string does not end with a line '.'");
  }

  const std::string& s_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
};

}  // namespace

Result<std::vector<ScriptToken>> tokenizeScript(const std::string& script) {
  return Lexer(script).run();
}

std::string encodeLike(const ScriptToken& like, const std::string& script, const std::string& value) {
  if (like.kind != ScriptToken::Kind::MultiLine) {
    std::string out = "\"";
    for (char c : value) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    return out + "\"";
  }
  size_t headerEnd = script.find('\n', like.begin) + 1;
  const bool crlf = headerEnd >= 2 && script[headerEnd - 2] == '\r';
  const std::string eol = crlf ? "\r\n" : "\n";
  std::string out = script.substr(like.begin, headerEnd - like.begin);
  size_t pos = 0;
  while (pos < value.size()) {
    size_t nl = value.find('\n', pos);
    size_t next = nl == std::string::npos ? value.size() : nl + 1;
    std::string lineText = value.substr(pos, next - pos);
    out += (lineText[0] == '.' ? "." : "") + lineText;
    if (nl == std::string::npos) {
      out += eol;
    }
    pos = next;
  }
  return out + "." + eol;
}

}  // namespace migrate::sieve
