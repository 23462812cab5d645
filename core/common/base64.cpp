#include "common/base64.h"

#include <cstdint>

namespace migrate {

int base64DigitValue(char c, char digit63) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  return c == digit63 ? 63 : -1;
}

char base64Digit(unsigned v, char digit63) {
  static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+";
  return v < 63 ? kDigits[v] : digit63;
}

std::string base64Encode(const std::string& in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    out += base64Digit((v >> 18) & 63);
    out += base64Digit((v >> 12) & 63);
    out += base64Digit((v >> 6) & 63);
    out += base64Digit(v & 63);
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += base64Digit((v >> 18) & 63);
    out += base64Digit((v >> 12) & 63);
    out += "==";
  } else if (rest == 2) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += base64Digit((v >> 18) & 63);
    out += base64Digit((v >> 12) & 63);
    out += base64Digit((v >> 6) & 63);
    out += '=';
  }
  return out;
}

bool base64Decode(const std::string& in, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : in) {
    if (c == '=') {
      pad++;
      continue;
    }
    if (pad > 0) {
      return false;
    }
    int v = base64DigitValue(c);
    if (v < 0) {
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return pad <= 2;
}

}  // namespace migrate
