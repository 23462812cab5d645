#include "engine/guid.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

#include "common/strings.h"

namespace migrate {

std::string sha256Hex(std::string_view input, size_t bytes) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), md);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes && i < SHA256_DIGEST_LENGTH; i++) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string sourceMessageGuid(const std::string& user, const std::string& rawFolder, uint32_t uidValidity,
                              uint32_t uid) {
  std::string key = "dovecot-migrate/2";
  key += '\0';
  key += lowerAscii(user);
  key += '\0';
  key += rawFolder;
  key += '\0';
  key += std::to_string(uidValidity);
  key += '\0';
  key += std::to_string(uid);
  return sha256Hex(key, 16);
}

std::string accountKey(const std::string& host, const std::string& user) {
  std::string key = lowerAscii(host);
  key += '\0';
  key += lowerAscii(user);
  return sha256Hex(key, 8);
}

}  // namespace migrate
