#pragma once
// Shared by the libFuzzer targets: property checks that abort (libFuzzer then saves the input as
// crash-*) with a message that shows the bytes involved.

#include <cstdio>
#include <cstdlib>
#include <string>

namespace migrate::fuzz {

// The bytes as C-style escaped text, so that a failure message shows CR, LF, NUL and 8-bit bytes.
inline std::string escaped(const std::string& s, size_t max = 400) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= max) {
      return out + "...(" + std::to_string(s.size()) + " bytes)";
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "\nFUZZ PROPERTY VIOLATED: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace migrate::fuzz

// The message is built only when the check fails (these run millions of times).
#define FUZZ_CHECK(cond, what)     \
  do {                             \
    if (!(cond)) {                 \
      ::migrate::fuzz::fail(what); \
    }                              \
  } while (false)
