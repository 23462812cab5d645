#pragma once
// A message body's digest for `doveadm migrate verify --full`: SHA-256 over the bytes with line
// ends made CRLF (a bare LF counts as CRLF) and NUL counted as 0x80. Both ends feed it: the
// source's BODY[] (which IMAP servers send with CRLF, and in which Dovecot sends NUL as 0x80)
// and the destination's stored file (maildir keeps LF line ends by default). Equal digests mean
// the same message as an IMAP client would fetch it from either server.

#include <cstddef>
#include <memory>
#include <string>

namespace migrate {

class BodyDigest {
 public:
  BodyDigest();
  ~BodyDigest();
  BodyDigest(const BodyDigest&) = delete;
  BodyDigest& operator=(const BodyDigest&) = delete;

  // Chunks may split a CRLF anywhere.
  void update(const char* data, size_t len);
  // 64 lower-case hex characters; the digest starts over afterwards.
  std::string finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  bool lastWasCr_ = false;
};

}  // namespace migrate
