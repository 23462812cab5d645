#include "engine/body_digest.h"

#include <openssl/evp.h>

namespace migrate {

struct BodyDigest::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

BodyDigest::BodyDigest() : ctx_(std::make_unique<Ctx>()) {
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
}

BodyDigest::~BodyDigest() = default;

void BodyDigest::update(const char* data, size_t len) {
  static const char kCr = '\r';
  static const char k0x80 = static_cast<char>(0x80);
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    const char c = data[i];
    if ((c == '\n' && !lastWasCr_) || c == '\0') {
      EVP_DigestUpdate(ctx_->md, data + start, i - start);
      EVP_DigestUpdate(ctx_->md, c == '\0' ? &k0x80 : &kCr, 1);
      start = c == '\0' ? i + 1 : i;
    }
    lastWasCr_ = c == '\r';
  }
  EVP_DigestUpdate(ctx_->md, data + start, len - start);
}

std::string BodyDigest::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->md, md, &n);
  EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
  lastWasCr_ = false;
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; i++) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace migrate
