#pragma once
// Test helpers for the TCP/TLS transport tests: certificates made in-process with OpenSSL, and a
// loopback server (127.0.0.1 only) that runs a handler per accepted connection on its own thread.

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace migrate::testutil {

struct CertSpec {
  std::string commonName = "localhost";
  std::vector<std::string> dnsNames = {"localhost"};
  std::vector<std::string> ipAddresses = {"127.0.0.1"};
  long notBeforeOffsetSec = -3600;       // relative to now
  long notAfterOffsetSec = 30L * 86400;  // relative to now
  bool isCa = false;
};

// A key pair and an X.509 certificate, self-signed or signed by `issuer`; the certificate is also
// written to a temporary PEM file (removed by the destructor) to be given as a CA file.
class TestCert {
 public:
  explicit TestCert(const CertSpec& spec = {}, const TestCert* issuer = nullptr);
  ~TestCert();
  TestCert(const TestCert&) = delete;
  TestCert& operator=(const TestCert&) = delete;

  X509* cert() const { return cert_; }
  EVP_PKEY* key() const { return key_; }
  const std::string& pemFile() const { return pemFile_; }
  // notAfter as YYYY-MM-DD (UTC).
  std::string notAfterDate() const;

 private:
  X509* cert_ = nullptr;
  EVP_PKEY* key_ = nullptr;
  std::string pemFile_;
};

// A server context presenting `cert` (the leaf only). maxVersion 0: no cap.
std::shared_ptr<SSL_CTX> makeServerContext(const TestCert& cert, int maxVersion = 0);

// Listens on 127.0.0.1 (ephemeral port) and serves up to maxConnections connections one after
// the other on a thread: handler(fd) on a blocking socket with 10 s send/receive timeouts (so a
// broken test cannot hang), then close(fd). The destructor stops accepting and joins.
class LoopbackServer {
 public:
  using Handler = std::function<void(int fd)>;
  explicit LoopbackServer(Handler handler, int maxConnections = 1);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void run(int maxConnections);

  Handler handler_;
  int listenFd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// A port on 127.0.0.1 that nothing listens on (bound, then closed).
uint16_t unusedLoopbackPort();

// Server side of a TLS handshake on a blocking socket; nullptr on failure (OpenSSL's error queue
// is cleared, nothing is printed). The caller frees the SSL.
SSL* tlsAccept(SSL_CTX* ctx, int fd);

bool fdWriteAll(int fd, const std::string& data);
// Reads up to and including "\n"; empty on EOF/error.
std::string fdReadLine(int fd);
// Reads and discards until EOF or error (the client closed).
void fdDrainUntilEof(int fd);
bool sslWriteAll(SSL* ssl, const void* data, size_t len);
bool sslWriteAll(SSL* ssl, const std::string& data);
bool sslReadExactly(SSL* ssl, void* buf, size_t len);
std::string sslReadLine(SSL* ssl);

// A deterministic byte pattern for bulk transfers.
std::string patternBytes(size_t len, unsigned seed);

}  // namespace migrate::testutil
