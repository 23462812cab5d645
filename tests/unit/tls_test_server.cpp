#include "unit/tls_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace migrate::testutil {

namespace {

void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) {
    throw std::runtime_error("bad test certificate extension " + value);
  }
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

}  // namespace

TestCert::TestCert(const CertSpec& spec, const TestCert* issuer) {
  static std::atomic<long> serial{1000};
  key_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  cert_ = X509_new();
  if (key_ == nullptr || cert_ == nullptr) {
    throw std::runtime_error("cannot create a test key/certificate");
  }
  X509_set_version(cert_, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert_), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert_), spec.notBeforeOffsetSec);
  X509_gmtime_adj(X509_getm_notAfter(cert_), spec.notAfterOffsetSec);
  X509_set_pubkey(cert_, key_);
  X509_NAME* name = X509_get_subject_name(cert_);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.commonName.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer->cert() : cert_;
  X509_set_issuer_name(cert_, X509_get_subject_name(signer));

  std::string san;
  for (const std::string& dns : spec.dnsNames) {
    san += (san.empty() ? "DNS:" : ",DNS:") + dns;
  }
  for (const std::string& ip : spec.ipAddresses) {
    san += (san.empty() ? "IP:" : ",IP:") + ip;
  }
  if (!san.empty()) {
    addExtension(cert_, signer, NID_subject_alt_name, san);
  }
  if (spec.isCa) {
    addExtension(cert_, signer, NID_basic_constraints, "critical,CA:TRUE");
    addExtension(cert_, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  addExtension(cert_, signer, NID_subject_key_identifier, "hash");
  if (X509_sign(cert_, issuer != nullptr ? issuer->key() : key_, EVP_sha256()) == 0) {
    throw std::runtime_error("cannot sign the test certificate");
  }

  char path[] = "/tmp/migrate-test-cert-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) {
    throw std::runtime_error("mkstemp failed");
  }
  FILE* f = fdopen(fd, "w");
  PEM_write_X509(f, cert_);
  fclose(f);
  pemFile_ = path;
}

TestCert::~TestCert() {
  if (!pemFile_.empty()) {
    ::unlink(pemFile_.c_str());
  }
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

std::string TestCert::notAfterDate() const {
  struct tm tm = {};
  ASN1_TIME_to_tm(X509_get0_notAfter(cert_), &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

std::shared_ptr<SSL_CTX> makeServerContext(const TestCert& cert, int maxVersion) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx || SSL_CTX_use_certificate(ctx.get(), cert.cert()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), cert.key()) != 1) {
    throw std::runtime_error("cannot set up the test server's TLS context");
  }
  if (maxVersion != 0) {
    SSL_CTX_set_max_proto_version(ctx.get(), maxVersion);
  }
  return ctx;
}

LoopbackServer::LoopbackServer(Handler handler, int maxConnections) : handler_(std::move(handler)) {
  listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (listenFd_ < 0 || ::bind(listenFd_, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listenFd_, 16) != 0 ||
      ::getsockname(listenFd_, reinterpret_cast<struct sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this, maxConnections] { run(maxConnections); });
}

LoopbackServer::~LoopbackServer() {
  stop_ = true;
  thread_.join();
  ::close(listenFd_);
}

void LoopbackServer::run(int maxConnections) {
  // The server side writes with OpenSSL's socket BIO (write(), no MSG_NOSIGNAL) to a client that
  // may be gone. SIGPIPE is thread-directed: block it here only, so the transport under test,
  // on the test's own thread, still proves that it never raises it.
  sigset_t pipeOnly;
  sigemptyset(&pipeOnly);
  sigaddset(&pipeOnly, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipeOnly, nullptr);
  for (int served = 0; served < maxConnections && !stop_;) {
    struct pollfd pfd = {listenFd_, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) {
      continue;
    }
    const int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    ++served;
    ++accepted_;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    handler_(fd);
    ::close(fd);
  }
}

uint16_t unusedLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

SSL* tlsAccept(SSL_CTX* ctx, int fd) {
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) != 1) {
    SSL_free(ssl);
    ERR_clear_error();
    return nullptr;
  }
  return ssl;
}

bool fdWriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string fdReadLine(int fd) {
  std::string line;
  char c = 0;
  while (::recv(fd, &c, 1, 0) == 1) {
    line += c;
    if (c == '\n') {
      break;
    }
  }
  return line;
}

void fdDrainUntilEof(int fd) {
  char buf[4096];
  while (::recv(fd, buf, sizeof(buf), 0) > 0) {
  }
}

bool sslWriteAll(SSL* ssl, const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    size_t n = 0;
    if (SSL_write_ex(ssl, p, len, &n) != 1) {
      ERR_clear_error();
      return false;
    }
    p += n;
    len -= n;
  }
  return true;
}

bool sslWriteAll(SSL* ssl, const std::string& data) {
  return sslWriteAll(ssl, data.data(), data.size());
}

bool sslReadExactly(SSL* ssl, void* buf, size_t len) {
  char* p = static_cast<char*>(buf);
  while (len > 0) {
    size_t n = 0;
    if (SSL_read_ex(ssl, p, len, &n) != 1) {
      ERR_clear_error();
      return false;
    }
    p += n;
    len -= n;
  }
  return true;
}

std::string sslReadLine(SSL* ssl) {
  std::string line;
  char c = 0;
  while (sslReadExactly(ssl, &c, 1)) {
    line += c;
    if (c == '\n') {
      break;
    }
  }
  return line;
}

std::string patternBytes(size_t len, unsigned seed) {
  std::string out(len, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < len; ++i) {
    x = x * 1664525u + 1013904223u;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

}  // namespace migrate::testutil
