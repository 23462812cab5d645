#include "engine/guid.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

namespace migrate {

namespace {

std::string hexDigest(const std::string& input, size_t bytes) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), md);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; i++) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::string sourceMessageGuid(const std::string& user, const std::string& rawFolder, uint32_t uidValidity,
                              uint32_t uid) {
  std::string key = "dovecot-migrate/2";
  key += '\0';
  key += lower(user);
  key += '\0';
  key += rawFolder;
  key += '\0';
  key += std::to_string(uidValidity);
  key += '\0';
  key += std::to_string(uid);
  return hexDigest(key, 16);
}

std::string accountKey(const std::string& host, const std::string& user) {
  std::string key = lower(host);
  key += '\0';
  key += lower(user);
  return hexDigest(key, 8);
}

}  // namespace migrate
