#include "engine/nul_bytes.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

namespace migrate {

namespace {

bool isBlank(char c) {
  return c == ' ' || c == '\t';
}

char lowerAscii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr char kCteName[] = "content-transfer-encoding";
constexpr size_t kCteNameLen = sizeof(kCteName) - 1;

bool startsWithCteName(const std::string& line) {
  if (line.size() < kCteNameLen) {
    return false;
  }
  for (size_t i = 0; i < kCteNameLen; i++) {
    if (lowerAscii(line[i]) != kCteName[i]) {
      return false;
    }
  }
  return true;
}

// "Content-Transfer-Encoding", blanks, ':' at the start of `line`: returns the offset after the
// colon, or npos.
size_t cteValueStart(const std::string& line) {
  if (!startsWithCteName(line)) {
    return std::string::npos;
  }
  size_t p = kCteNameLen;
  while (p < line.size() && isBlank(line[p])) {
    p++;
  }
  return p < line.size() && line[p] == ':' ? p + 1 : std::string::npos;
}

// Calls fn for the body's bytes in order, without holding a spooled body in memory.
Status forEachChunk(const MessageBody& body, const std::function<void(const char*, size_t)>& fn) {
  if (body.inMemory()) {
    fn(body.data().data(), body.data().size());
    return Status::ok();
  }
  constexpr size_t kChunk = size_t{256} * 1024;
  std::vector<char> buf(kChunk);
  uint64_t off = 0;
  while (off < body.size()) {
    ssize_t n = ::pread(body.fd(), buf.data(), buf.size(), static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return Status(ErrorKind::LocalStorage, std::string("cannot read spooled message: ") +
                                                 (n < 0 ? std::strerror(errno) : "short file"));
    }
    fn(buf.data(), static_cast<size_t>(n));
    off += static_cast<uint64_t>(n);
  }
  return Status::ok();
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    ok_ = ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1;
  }
  void update(const void* data, size_t len) { ok_ = ok_ && EVP_DigestUpdate(ctx_.get(), data, len) == 1; }
  Result<std::string> digest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!ok_ || EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) {
      return Status(ErrorKind::Internal, "SHA-256 failed in OpenSSL");
    }
    return std::string(reinterpret_cast<const char*>(md), len);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx_;
  bool ok_ = false;
};

}  // namespace

void CteScanner::feed(const char* data, size_t len) {
  for (size_t i = 0; i < len; i++) {
    char c = data[i];
    if (c == '\n') {
      endLine();
    } else if (line_.size() < kMaxLine) {
      line_ += c;
    } else {
      lineTooLong_ = true;
    }
  }
}

void CteScanner::finish() {
  if (!line_.empty() || lineTooLong_) {
    endLine();
  }
  endHeader();
}

void CteScanner::endLine() {
  if (!line_.empty() && line_.back() == '\r') {
    line_.pop_back();
  }
  if (inCte_ && !line_.empty() && isBlank(line_[0])) {
    value_ += line_;  // a folded value goes on
    encoded_ = encoded_ || lineTooLong_;
  } else {
    endHeader();
    size_t v = cteValueStart(line_);
    if (v != std::string::npos) {
      inCte_ = true;
      value_ = line_.substr(v);
      // The value may be cut off; judging it needs all of it.
      encoded_ = encoded_ || lineTooLong_;
    } else if (lineTooLong_ && startsWithCteName(line_)) {
      encoded_ = true;  // the colon is beyond what we keep: cannot judge, so be careful
    }
  }
  line_.clear();
  lineTooLong_ = false;
}

void CteScanner::endHeader() {
  if (!inCte_) {
    return;
  }
  inCte_ = false;
  size_t b = 0;
  size_t e = value_.size();
  while (b < e && isBlank(value_[b])) {
    b++;
  }
  while (e > b && isBlank(value_[e - 1])) {
    e--;
  }
  std::string v;
  for (size_t i = b; i < e; i++) {
    v += lowerAscii(value_[i]);
  }
  // What Dovecot copies unchanged (MESSAGE_CTE_78BIT, MESSAGE_CTE_BINARY); anything else is
  // decoded, or refused as an unknown encoding.
  if (v != "7bit" && v != "8bit" && v != "binary") {
    encoded_ = true;
  }
  value_.clear();
}

void Stray0x80Scanner::feed(const char* data, size_t len) {
  for (size_t i = 0; i < len && !found_; i++) {
    auto b = static_cast<unsigned char>(data[i]);
    if (remaining_ > 0 && b >= lo_ && b <= hi_) {
      pending0x80_ = pending0x80_ || b == 0x80;
      lo_ = 0x80;
      hi_ = 0xBF;
      if (--remaining_ == 0) {
        pending0x80_ = false;  // a complete character: its 0x80 is itself
      }
      continue;
    }
    if (remaining_ > 0) {
      found_ = pending0x80_;  // the character broke off after a 0x80
      remaining_ = 0;
      pending0x80_ = false;
    }
    startByte(b);
  }
}

void Stray0x80Scanner::finish() {
  found_ = found_ || (remaining_ > 0 && pending0x80_);
  remaining_ = 0;
}

// Well-formed UTF-8 (RFC 3629): the lead byte sets the count and the range of the next byte.
void Stray0x80Scanner::startByte(unsigned char b) {
  lo_ = 0x80;
  hi_ = 0xBF;
  if (b == 0x80) {
    found_ = true;  // no character to belong to
  } else if (b >= 0xC2 && b <= 0xDF) {
    remaining_ = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    remaining_ = 2;
    lo_ = b == 0xE0 ? 0xA0 : 0x80;
    hi_ = b == 0xED ? 0x9F : 0xBF;
  } else if (b >= 0xF0 && b <= 0xF4) {
    remaining_ = 3;
    lo_ = b == 0xF0 ? 0x90 : 0x80;
    hi_ = b == 0xF4 ? 0x8F : 0xBF;
  }
}

Result<NulCandidate> scanNulCandidate(const MessageBody& body) {
  NulCandidate c;
  c.size = body.size();
  Stray0x80Scanner stray;
  CteScanner cte;
  Sha256 sha;
  Status st = forEachChunk(body, [&](const char* p, size_t n) {
    stray.feed(p, n);
    cte.feed(p, n);
    sha.update(p, n);
  });
  if (!st.isOk()) {
    return st;
  }
  stray.finish();
  cte.finish();
  c.mayHoldNul = stray.found();
  c.encoded = cte.encoded();
  MIGRATE_ASSIGN_OR_RETURN(std::string d, sha.digest());
  c.digest = d;
  return c;
}

Result<BinaryMatch> compareBinary(const MessageBody& binary, const NulCandidate& candidate) {
  if (binary.size() != candidate.size) {
    return BinaryMatch::Different;
  }
  Sha256 sha;
  bool nuls = false;
  std::string mapped;
  Status st = forEachChunk(binary, [&](const char* p, size_t n) {
    const char* nul = static_cast<const char*>(std::memchr(p, '\0', n));
    if (nul == nullptr) {
      sha.update(p, n);
      return;
    }
    nuls = true;
    mapped.assign(p, n);
    for (char& ch : mapped) {
      if (ch == '\0') {
        ch = static_cast<char>(0x80);  // as Dovecot's BODY[] sends it
      }
    }
    sha.update(mapped.data(), mapped.size());
  });
  if (!st.isOk()) {
    return st;
  }
  MIGRATE_ASSIGN_OR_RETURN(std::string d, sha.digest());
  if (d != candidate.digest) {
    return BinaryMatch::Different;
  }
  return nuls ? BinaryMatch::WithNuls : BinaryMatch::Same;
}

}  // namespace migrate
