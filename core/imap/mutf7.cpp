#include "imap/mutf7.h"

#include <cstdint>

#include "common/base64.h"
#include "common/strings.h"

namespace migrate::imap {

namespace {

bool isPrintableAscii(uint32_t c) {
  return c >= 0x20 && c <= 0x7e;
}

// For messages: the name with non-printable bytes as \xNN, shortened.
std::string sanitized(const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= 100) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (isPrintableAscii(c)) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

Status decodeError(const std::string& name, const std::string& what) {
  return Status(ErrorKind::Protocol,
                "invalid modified UTF-7 in mailbox name \"" + sanitized(name) + "\": " + what,
                "the source server sent a mailbox name that is not valid modified UTF-7 (RFC 3501 5.1.3)");
}

// Length of the UTF-8 sequence starting at s[i] if it is valid and shortest-form, else 0.
size_t utf8SequenceLength(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const size_t n = s.size();
  const unsigned char c = b(i);
  auto cont = [&](size_t k) { return k < n && (b(k) & 0xc0) == 0x80; };
  if (c < 0x80) {
    return 1;
  }
  if (c >= 0xc2 && c <= 0xdf) {
    return cont(i + 1) ? 2 : 0;
  }
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(i + 1) || !cont(i + 2)) {
      return 0;
    }
    if (c == 0xe0 && b(i + 1) < 0xa0) {
      return 0;  // overlong
    }
    if (c == 0xed && b(i + 1) > 0x9f) {
      return 0;  // UTF-16 surrogate
    }
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) {
      return 0;
    }
    if (c == 0xf0 && b(i + 1) < 0x90) {
      return 0;  // overlong
    }
    if (c == 0xf4 && b(i + 1) > 0x8f) {
      return 0;  // above U+10FFFF
    }
    return 4;
  }
  return 0;  // continuation byte, 0xc0/0xc1 (overlong) or 0xf5..0xff
}

}  // namespace

bool isValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t len = utf8SequenceLength(s, i);
    if (len == 0) {
      return false;
    }
    i += len;
  }
  return true;
}

Result<std::string> mutf7Decode(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c != '&') {
      if (!isPrintableAscii(c)) {
        return decodeError(
            in, "byte " + sanitized(std::string(1, static_cast<char>(c))) + " is not printable US-ASCII");
      }
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    size_t j = i + 1;
    if (j < in.size() && in[j] == '-') {
      out += '&';
      i = j + 1;
      continue;
    }
    uint32_t bits = 0;
    int nbits = 0;
    uint32_t highSurrogate = 0;
    size_t units = 0;
    for (; j < in.size() && in[j] != '-'; ++j) {
      const int v = base64DigitValue(in[j], ',');
      if (v < 0) {
        return decodeError(
            in, "character \"" + sanitized(std::string(1, in[j])) + "\" is not allowed in a \"&\" sequence");
      }
      bits = (bits << 6) | static_cast<uint32_t>(v);
      nbits += 6;
      if (nbits < 16) {
        continue;
      }
      nbits -= 16;
      const uint32_t unit = (bits >> nbits) & 0xffff;
      bits &= (1u << nbits) - 1;
      ++units;
      uint32_t cp = unit;
      if (highSurrogate != 0) {
        if (unit < 0xdc00 || unit > 0xdfff) {
          return decodeError(in, "unpaired UTF-16 high surrogate");
        }
        cp = 0x10000 + ((highSurrogate - 0xd800) << 10) + (unit - 0xdc00);
        highSurrogate = 0;
      } else if (unit >= 0xd800 && unit <= 0xdbff) {
        highSurrogate = unit;
        continue;
      } else if (unit >= 0xdc00 && unit <= 0xdfff) {
        return decodeError(in, "unpaired UTF-16 low surrogate");
      }
      if (isPrintableAscii(cp)) {
        return decodeError(in, "\"&\" sequence encodes the printable character \"" +
                                   std::string(1, static_cast<char>(cp)) + "\"");
      }
      if (cp == 0) {
        return decodeError(in, "\"&\" sequence encodes a NUL character");
      }
      appendUtf8(out, cp);
    }
    if (j == in.size()) {
      return decodeError(in, "\"&\" sequence not closed with \"-\"");
    }
    if (units == 0) {
      return decodeError(in, "\"&\" sequence too short to hold a character");
    }
    if (nbits >= 6) {
      return decodeError(in, "\"&\" sequence has extra base64 characters");
    }
    if (bits != 0) {
      return decodeError(in, "\"&\" sequence has non-zero padding bits");
    }
    if (highSurrogate != 0) {
      return decodeError(in, "unpaired UTF-16 high surrogate");
    }
    i = j + 1;
    // Two adjacent sequences ("&AOQ-&APY-") are a non-shortest form of one ("&AOQA9g-").
    if (i + 1 < in.size() && in[i] == '&' && in[i + 1] != '-') {
      return decodeError(in, "two adjacent \"&\" sequences");
    }
  }
  return out;
}

Result<std::string> mutf7Encode(const std::string& in) {
  if (!isValidUtf8(in)) {
    return Status(ErrorKind::Config, "mailbox name \"" + sanitized(in) + "\" is not valid UTF-8",
                  "use UTF-8 for folder names in options and mappings");
  }
  std::string out;
  out.reserve(in.size() + in.size() / 2);
  uint32_t bits = 0;
  int nbits = 0;
  bool inRun = false;
  auto putUnit = [&](uint32_t unit) {
    bits = (bits << 16) | unit;
    nbits += 16;
    while (nbits >= 6) {
      nbits -= 6;
      out += base64Digit((bits >> nbits) & 0x3f, ',');
    }
    bits &= (1u << nbits) - 1;
  };
  auto endRun = [&]() {
    if (nbits > 0) {
      out += base64Digit((bits << (6 - nbits)) & 0x3f, ',');
    }
    out += '-';
    bits = 0;
    nbits = 0;
    inRun = false;
  };
  size_t i = 0;
  while (i < in.size()) {
    const size_t len = utf8SequenceLength(in, i);
    const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(in[i + k])); };
    uint32_t cp = 0;
    switch (len) {
      case 1:
        cp = b(0);
        break;
      case 2:
        cp = ((b(0) & 0x1f) << 6) | (b(1) & 0x3f);
        break;
      case 3:
        cp = ((b(0) & 0x0f) << 12) | ((b(1) & 0x3f) << 6) | (b(2) & 0x3f);
        break;
      default:
        cp = ((b(0) & 0x07) << 18) | ((b(1) & 0x3f) << 12) | ((b(2) & 0x3f) << 6) | (b(3) & 0x3f);
        break;
    }
    i += len;
    if (cp == 0) {
      return Status(ErrorKind::Config, "mailbox name \"" + sanitized(in) + "\" contains a NUL character",
                    "remove the NUL character from the folder name");
    }
    if (isPrintableAscii(cp)) {
      if (inRun) {
        endRun();
      }
      out += static_cast<char>(cp);
      if (cp == '&') {
        out += '-';
      }
      continue;
    }
    if (!inRun) {
      out += '&';
      inRun = true;
    }
    if (cp >= 0x10000) {
      putUnit(0xd800 + ((cp - 0x10000) >> 10));
      putUnit(0xdc00 + ((cp - 0x10000) & 0x3ff));
    } else {
      putUnit(cp);
    }
  }
  if (inRun) {
    endRun();
  }
  return out;
}

}  // namespace migrate::imap
