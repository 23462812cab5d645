#pragma once
// OpenSSL plumbing behind TcpTransport (internal to core/net): the shared client SSL_CTX per
// TlsOptions, a socket BIO that never raises SIGPIPE, certificate-verification diagnostics and
// the wording of TLS errors. OpenSSL errors are drained into Status messages, never printed.

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "net/transport.h"

namespace migrate::net::detail {

// The socket under the TLS layer, read and written by the BIO from newSocketBio().
struct SocketBioState {
  int fd = -1;
  int lastErrno = 0;     // errno of the last failed recv/send other than EAGAIN/EINTR
  bool eof = false;      // recv() returned 0
  bool capture = false;  // while set, the first bytes received are kept in `captured`
  std::string captured;  // what the server sent during the handshake (diagnostics)
};

// A BIO over state->fd using recv()/send(MSG_NOSIGNAL). OpenSSL's own socket BIO uses write(),
// which raises SIGPIPE when the server has reset the connection; a plugin must not change the
// process's signal dispositions. `state` must outlive the BIO.
BIO* newSocketBio(SocketBioState* state);

// The client context for `tls` (verification mode, CA locations, minimum version), created once
// and shared by every connection with the same options. Config error when the CA file/dir
// cannot be loaded. Thread-safe.
Result<std::shared_ptr<SSL_CTX>> clientContext(const TlsOptions& tls);

// The first certificate-verification failure of a handshake, recorded by the verify callback
// while the peer's certificates are still at hand (OpenSSL does not keep them after a failure).
struct VerifyFailure {
  bool failed = false;
  long error = 0;  // X509_V_ERR_*
  int depth = 0;   // 0: the server's own certificate
  std::string subject;
  std::string issuer;
  std::string notBefore;  // YYYY-MM-DD
  std::string notAfter;
  std::string leafNames;  // "CN=x / DNS:a, IP:b" of the server's certificate
};

// Enables SSL_VERIFY_PEER on `ssl` with a callback that records the first failure into `out`
// (which must outlive the handshake). The verdict itself is OpenSSL's.
void enableVerification(SSL* ssl, VerifyFailure* out);

struct SslErrors {
  std::string text;          // the queued errors' reasons, "; "-separated; empty if none
  std::vector<int> reasons;  // ERR_GET_REASON of each
  bool has(int reason) const;
};
// Empties this thread's OpenSSL error queue.
SslErrors drainSslErrors();

// "TLS 1.2" for 0x0303 etc.
std::string tlsVersionName(int version);

// What went wrong in a failed handshake, for handshakeFailure().
struct HandshakeContext {
  std::string where;         // "imap.example.org:993"
  std::string expectedName;  // the name or IP the certificate must cover
  uint16_t port = 0;
  int minVersion = 0;
  int sslError = 0;  // SSL_get_error()
  const VerifyFailure* verify = nullptr;
  long verifyResult = 0;             // SSL_get_verify_result()
  SocketBioState* socket = nullptr;  // its capture may be completed for the message
};
// The Status for a failed handshake (drains the OpenSSL error queue): certificate problems,
// a plain-text server on a TLS port, protocol versions, the server hanging up, or OpenSSL's
// own reason.
Status handshakeFailure(const HandshakeContext& ctx);

// The Status for a failed verification (kind Tls), e.g. "TLS certificate verification failed
// for imap.example.org:993: self-signed certificate (subject CN=x, issuer CN=x)".
Status verificationFailure(const VerifyFailure& v, const std::string& where, const std::string& expectedName);

}  // namespace migrate::net::detail
