#pragma once
// Byte transport under the IMAP session: plain TCP, TLS (implicit or upgraded by STARTTLS), or an
// in-memory pipe for tests. Blocking, with timeouts. Not thread-safe: one thread uses a transport.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate::net {

struct TlsOptions {
  bool verify = true;      // verify the certificate chain and the host name
  std::string caFile;      // PEM bundle; empty: the system store
  std::string caDir;       // hashed CA directory; empty: the system store
  std::string serverName;  // SNI and the name to verify; empty: the host we connected to
  // Minimum protocol: TLS 1.2 unless the admin lowers it.
  int minVersion = 0x0303;  // TLS1_2_VERSION
};

struct Endpoint {
  std::string host;
  uint16_t port = 0;
};

struct TimeoutOptions {
  int connectMs = 30000;
  int tlsHandshakeMs = 30000;
  int ioMs = 300000;  // no byte received/sent for this long: Timeout
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Writes all of data or fails (Closed, Timeout).
  virtual Status writeAll(const void* data, size_t len) = 0;
  // Reads at least 1 byte, at most cap. EOF from the peer is ErrorKind::Closed.
  virtual Result<size_t> readSome(void* buf, size_t cap) = 0;
  // Upgrades the connection to TLS in place (STARTTLS). Fails with Tls/Timeout.
  virtual Status startTls(const TlsOptions& tls) = 0;
  virtual bool isTls() const = 0;
  // Description for messages and reports, e.g. "imap.example.org:993 (127.0.0.1), TLSv1.3".
  virtual std::string describe() const = 0;
  virtual void close() = 0;
  // Changes the read/write inactivity timeout (e.g. a shorter one for the greeting).
  virtual void setIoTimeoutMs(int ms) = 0;
  // While on, a wire trace (RawlogTransport) records what is written as "<redacted N bytes>"
  // instead of the bytes: the session turns it on around passwords and tokens. Wrappers forward
  // it to the transport they wrap; transports that keep no trace ignore it.
  virtual void setRedact(bool /*on*/) {}
};

// Resolves endpoint.host (Dns error names the host), connects with a timeout trying every address
// (Connect / Timeout errors name host, port and the OS error), and, if implicitTls, performs the TLS
// handshake (Tls errors say what failed: self-signed, expired, wrong host name, with the
// certificate's subject and issuer).
//
// Details of the TCP/TLS implementation (core/net/tcp_transport.cpp):
// - Each address gets its own connectMs; on failure the first address's error is reported and
//   the others are listed. tlsHandshakeMs bounds the whole handshake; ioMs is the longest wait for
//   any progress of one readSome/writeAll.
// - Errors: Config (bad CA file, port 0, empty host), Dns, Connect ("connection to
//   imap.example.org:993 (192.0.2.1) refused"), Timeout ("connecting to ... timed out after 30 s",
//   "no data from imap.example.org:993 for 300 s", "TLS handshake with ... timed out after 30 s"),
//   Tls ("TLS certificate verification failed for imap.example.org:993: self-signed certificate
//   (subject CN=x, issuer CN=x)", "TLS handshake with ... failed: the server answered in plain
//   text (...), not TLS"), Closed ("the server closed the connection": EOF, TLS close_notify,
//   ECONNRESET/EPIPE). Every error has a hint for the admin.
// - TLS: at least tls.minVersion; SNI is the server name unless it is an IP literal; the
//   certificate must cover the server name (or the IP literal). With verify=false, describe()
//   says "certificate not verified". A bare EOF without close_notify counts as Closed (servers
//   commonly hang up after BYE like that).
// - startTls() refuses (Tls) if the server sent anything after its STARTTLS OK and before the
//   handshake (plain-text injection). After a failed startTls() the transport is closed.
// - SIGPIPE is never raised (MSG_NOSIGNAL, also under TLS); OpenSSL never prints to stderr.
// - readSome() returns as much as is available without waiting, up to cap.
Result<std::unique_ptr<Transport>> connectTcp(const Endpoint& endpoint, bool implicitTls,
                                              const TlsOptions& tls, const TimeoutOptions& timeouts);

// The first address `host` resolves to, as a numeric string (for the "source is this server" check).
Result<std::string> resolveFirstAddress(const std::string& host);

// Every address `host` resolves to (numeric strings, resolver order, no duplicates). Dns error as
// for connectTcp.
Result<std::vector<std::string>> resolveAddresses(const std::string& host);

}  // namespace migrate::net
