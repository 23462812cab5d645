#pragma once
// The tokens of a Sieve script (RFC 5228 §8.1), with the byte range each one covers, so that a
// caller can replace one string in place and keep every other byte (comments, layout, line ends,
// the other strings' escapes) exactly as the user wrote it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate::sieve {

struct ScriptToken {
  enum class Kind {
    Identifier,  // a command or test name, as written
    Tag,         // ":create" (value without the colon)
    Number,      // "10K" (value as written)
    Quoted,      // "..." (value: unescaped)
    MultiLine,   // text: ... . (value: the lines after the "text:" line, dot-unstuffed)
    Punct,       // one of ; , [ ] { } ( )
  };
  Kind kind = Kind::Identifier;
  size_t begin = 0;   // the token's first byte in the script
  size_t end = 0;     // one past its last byte
  uint32_t line = 1;  // the line it starts on
  std::string value;

  bool isString() const { return kind == Kind::Quoted || kind == Kind::MultiLine; }
  bool isPunct(char c) const { return kind == Kind::Punct && value.size() == 1 && value[0] == c; }
};

// Every token of `script` in order; whitespace and comments are skipped. A Protocol error names
// the line of what cannot be read (an unterminated string or comment, a stray byte).
Result<std::vector<ScriptToken>> tokenizeScript(const std::string& script);

// `value` written as the token `like` was: a quoted string (only `"` and `\` escaped) or a
// multi-line text with the same "text:" line, dot-stuffed, with the line ends of the original.
std::string encodeLike(const ScriptToken& like, const std::string& script, const std::string& value);

}  // namespace migrate::sieve
