// TcpTransport against real sockets on 127.0.0.1: plain TCP, TLS with certificates made in the
// test, STARTTLS, timeouts and the wording of every error the admin can meet.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/transport.h"
#include "unit/tls_test_server.h"

namespace migrate::net {
namespace {

using testutil::CertSpec;
using testutil::LoopbackServer;
using testutil::TestCert;

::testing::AssertionResult contains(const std::string& haystack, const std::string& needle) {
  if (haystack.find(needle) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "\"" << haystack << "\" does not contain \"" << needle << "\"";
}

TimeoutOptions quickTimeouts() {
  TimeoutOptions t;
  t.connectMs = 5000;
  t.tlsHandshakeMs = 5000;
  t.ioMs = 5000;
  return t;
}

Endpoint loopback(uint16_t port) {
  return Endpoint{"127.0.0.1", port};
}

std::string where(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

TlsOptions trusting(const TestCert& cert) {
  TlsOptions tls;
  tls.caFile = cert.pemFile();
  return tls;
}

// Reads exactly n bytes or returns what arrived before an error.
std::string readExactly(Transport& t, size_t n) {
  std::string out;
  char buf[65536];
  while (out.size() < n) {
    Result<size_t> r = t.readSome(buf, std::min(sizeof(buf), n - out.size()));
    if (!r.isOk()) {
      break;
    }
    out.append(buf, r.value());
  }
  return out;
}

// Reads until an error; returns the bytes and the error.
std::pair<std::string, Status> readUntilError(Transport& t) {
  std::string out;
  char buf[65536];
  for (;;) {
    Result<size_t> r = t.readSome(buf, sizeof(buf));
    if (!r.isOk()) {
      return {out, r.status()};
    }
    out.append(buf, r.value());
  }
}

void plainEcho(int fd) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0 || !testutil::fdWriteAll(fd, std::string(buf, static_cast<size_t>(n)))) {
      return;
    }
  }
}

void tlsEcho(SSL* ssl) {
  char buf[65536];
  for (;;) {
    size_t n = 0;
    if (SSL_read_ex(ssl, buf, sizeof(buf), &n) != 1 || !testutil::sslWriteAll(ssl, buf, n)) {
      ERR_clear_error();
      return;
    }
  }
}

// A TLS server presenting `cert`; `body` runs after a successful handshake. Records the SNI the
// client sent and whether the handshake succeeded.
class TlsServer {
 public:
  explicit TlsServer(const TestCert& cert, std::function<void(SSL*)> body = tlsEcho, int maxVersion = 0)
      : ctx_(testutil::makeServerContext(cert, maxVersion)), server_([this, body](int fd) {
          SSL* ssl = testutil::tlsAccept(ctx_.get(), fd);
          if (ssl == nullptr) {
            return;
          }
          const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
          {
            std::lock_guard<std::mutex> lock(mutex_);
            sni_ = sni != nullptr ? sni : "";
          }
          handshakes_++;
          body(ssl);
          SSL_free(ssl);
        }) {}

  uint16_t port() const { return server_.port(); }
  int handshakes() const { return handshakes_.load(); }
  std::string sni() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return sni_;
  }

 private:
  std::shared_ptr<SSL_CTX> ctx_;
  mutable std::mutex mutex_;
  std::string sni_;
  std::atomic<int> handshakes_{0};
  LoopbackServer server_;  // last: its thread uses the members above
};

// ---- plain TCP ---------------------------------------------------------------------------------

TEST(TcpTransport, PlainEcho) {
  LoopbackServer server(plainEcho);
  auto r = connectTcp(loopback(server.port()), false, TlsOptions(), quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  Transport& t = *r.value();
  EXPECT_FALSE(t.isTls());
  EXPECT_EQ(t.describe(), where(server.port()));
  const std::string msg = "a001 CAPABILITY\r\n";
  ASSERT_TRUE(t.writeAll(msg.data(), msg.size()).isOk());
  EXPECT_EQ(readExactly(t, msg.size()), msg);
  t.close();
  char c = 0;
  Result<size_t> after = t.readSome(&c, 1);
  ASSERT_FALSE(after.isOk());
  EXPECT_EQ(after.status().kind(), ErrorKind::Closed);
}

TEST(TcpTransport, PlainLargeTransferArrivesIntact) {
  const std::string payload = testutil::patternBytes(8u << 20, 7);
  LoopbackServer server([&](int fd) { testutil::fdWriteAll(fd, payload); });
  auto r = connectTcp(loopback(server.port()), false, TlsOptions(), quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  auto [got, status] = readUntilError(*r.value());
  EXPECT_EQ(status.kind(), ErrorKind::Closed);
  ASSERT_EQ(got.size(), payload.size());
  EXPECT_TRUE(got == payload);
}

TEST(TcpTransport, ConnectionRefusedNamesHostPortAndHint) {
  const uint16_t port = testutil::unusedLoopbackPort();
  auto r = connectTcp(loopback(port), false, TlsOptions(), quickTimeouts());
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Connect);
  EXPECT_EQ(r.status().message(), "connection to " + where(port) + " refused");
  EXPECT_EQ(r.status().hint(),
            "is the IMAP server running and is the port right? 993 is IMAPS, 143 is IMAP/STARTTLS");
  EXPECT_TRUE(r.status().retriable());
}

TEST(TcpTransport, ConnectionRefusedByNameShowsAddress) {
  const uint16_t port = testutil::unusedLoopbackPort();
  auto r = connectTcp(Endpoint{"localhost", port}, false, TlsOptions(), quickTimeouts());
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Connect);
  // "connection to localhost:P (127.0.0.1) refused", maybe with "; ::1 failed too".
  EXPECT_TRUE(contains(r.status().message(), "connection to localhost:" + std::to_string(port) + " ("));
  EXPECT_TRUE(contains(r.status().message(), ") refused"));
}

// Loopback never drops packets, except SYNs to a listener whose accept queue is full: listen(0)
// and never accept, and a later connect hangs like one behind a dropping firewall.
TEST(TcpTransport, ConnectTimeoutWhenSynIsDropped) {
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(listener, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<struct sockaddr*>(&addr), &len), 0);
  ASSERT_EQ(::listen(listener, 0), 0);
  const uint16_t port = ntohs(addr.sin_port);
  TimeoutOptions timeouts = quickTimeouts();
  timeouts.connectMs = 300;
  std::vector<std::unique_ptr<Transport>> queued;  // fill the queue and keep it full
  Status timedOut;
  std::chrono::steady_clock::duration elapsed{};
  for (int i = 0; i < 8 && timedOut.isOk(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto r = connectTcp(loopback(port), false, TlsOptions(), timeouts);
    elapsed = std::chrono::steady_clock::now() - start;
    if (r.isOk()) {
      queued.push_back(std::move(r).value());
    } else {
      timedOut = r.status();
    }
  }
  ::close(listener);
  ASSERT_FALSE(timedOut.isOk()) << "every connect succeeded";
  EXPECT_EQ(timedOut.kind(), ErrorKind::Timeout);
  EXPECT_EQ(timedOut.message(), "connecting to " + where(port) + " timed out after 300 ms");
  EXPECT_TRUE(contains(timedOut.hint(), "a firewall may drop the traffic"));
  EXPECT_GE(elapsed, std::chrono::milliseconds(290));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST(TcpTransport, ReadTimeoutWhenServerSendsNothing) {
  LoopbackServer server(testutil::fdDrainUntilEof);
  TimeoutOptions timeouts = quickTimeouts();
  timeouts.ioMs = 200;
  auto r = connectTcp(loopback(server.port()), false, TlsOptions(), timeouts);
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  char buf[16];
  const auto start = std::chrono::steady_clock::now();
  Result<size_t> read = r.value()->readSome(buf, sizeof(buf));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(read.isOk());
  EXPECT_EQ(read.status().kind(), ErrorKind::Timeout);
  EXPECT_EQ(read.status().message(), "no data from " + where(server.port()) + " for 200 ms");
  EXPECT_FALSE(read.status().hint().empty());
  EXPECT_GE(elapsed, std::chrono::milliseconds(190));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST(TcpTransport, EofAfterDataIsClosed) {
  LoopbackServer server([](int fd) { testutil::fdWriteAll(fd, "* BYE shutting down\r\n"); });
  auto r = connectTcp(loopback(server.port()), false, TlsOptions(), quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  auto [got, status] = readUntilError(*r.value());
  EXPECT_EQ(got, "* BYE shutting down\r\n");
  EXPECT_EQ(status.kind(), ErrorKind::Closed);
  EXPECT_EQ(status.message(), "the server closed the connection");
  EXPECT_TRUE(status.retriable());
}

// The server resets the connection; writes must fail with Closed rather than kill the process
// with SIGPIPE (the test binary keeps SIGPIPE's default action).
TEST(TcpTransport, WriteAfterResetIsClosedWithoutSigpipe) {
  LoopbackServer server([&](int fd) {
    char c = 0;
    ::recv(fd, &c, 1, 0);       // the client's first write
    struct linger lg = {1, 0};  // close() with unread data and no linger sends RST
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  });
  auto r = connectTcp(loopback(server.port()), false, TlsOptions(), quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  const std::string chunk(65536, 'x');
  Status s;
  for (int i = 0; i < 200 && s.isOk(); ++i) {
    s = r.value()->writeAll(chunk.data(), chunk.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.kind(), ErrorKind::Closed);
  EXPECT_TRUE(contains(s.message(), "the server closed the connection"));
}

TEST(TcpTransport, DnsFailureNamesHost) {
  auto r = connectTcp(Endpoint{"no-such-host.invalid", 993}, true, TlsOptions(), quickTimeouts());
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Dns);
  EXPECT_TRUE(contains(r.status().message(), "cannot resolve host name 'no-such-host.invalid': "));
  EXPECT_EQ(r.status().hint(),
            "check --source-host / migrate_source_host for typos; the server's DNS may be down");
}

TEST(TcpTransport, ConfigErrors) {
  auto noPort = connectTcp(Endpoint{"127.0.0.1", 0}, false, TlsOptions(), quickTimeouts());
  ASSERT_FALSE(noPort.isOk());
  EXPECT_EQ(noPort.status().kind(), ErrorKind::Config);
  auto noHost = connectTcp(Endpoint{"", 993}, false, TlsOptions(), quickTimeouts());
  ASSERT_FALSE(noHost.isOk());
  EXPECT_EQ(noHost.status().kind(), ErrorKind::Config);
}

TEST(TcpTransport, ResolveFirstAddress) {
  auto ip = resolveFirstAddress("127.0.0.1");
  ASSERT_TRUE(ip.isOk()) << ip.status().describe();
  EXPECT_EQ(ip.value(), "127.0.0.1");
  auto v6 = resolveFirstAddress("::1");
  ASSERT_TRUE(v6.isOk()) << v6.status().describe();
  EXPECT_EQ(v6.value(), "::1");
  auto local = resolveAddresses("localhost");
  ASSERT_TRUE(local.isOk()) << local.status().describe();
  ASSERT_FALSE(local.value().empty());
  for (const std::string& a : local.value()) {
    EXPECT_TRUE(a == "127.0.0.1" || a == "::1") << a;
  }
  auto bad = resolveFirstAddress("no-such-host.invalid");
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().kind(), ErrorKind::Dns);
}

// ---- TLS ---------------------------------------------------------------------------------------

TEST(TlsTransport, SelfSignedCertificateIsRejectedWithSubject) {
  TestCert cert;
  TlsServer server(cert);
  auto r = connectTcp(loopback(server.port()), true, TlsOptions(), quickTimeouts());
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Tls);
  EXPECT_EQ(r.status().message(),
            "TLS certificate verification failed for " + where(server.port()) +
                ": self-signed certificate (subject CN=localhost, issuer CN=localhost)");
  EXPECT_EQ(r.status().hint(),
            "give the server's CA with --ca-file, or --insecure to skip verification (not recommended)");
  EXPECT_FALSE(r.status().retriable());
  EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL errors left in the queue";
}

TEST(TlsTransport, TrustedWithCaFileEchoesAndDescribesVersion) {
  TestCert cert;
  TlsServer server(cert);
  auto r = connectTcp(loopback(server.port()), true, trusting(cert), quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  Transport& t = *r.value();
  EXPECT_TRUE(t.isTls());
  EXPECT_EQ(t.describe(), where(server.port()) + ", TLSv1.3");
  const std::string msg = "a001 NOOP\r\n";
  ASSERT_TRUE(t.writeAll(msg.data(), msg.size()).isOk());
  EXPECT_EQ(readExactly(t, msg.size()), msg);
  // No SNI for an IP literal (RFC 6066).
  EXPECT_EQ(server.sni(), "");
}

TEST(TlsTransport, HostNameSentAsSniAndVerified) {
  TestCert cert;
  TlsServer server(cert);
  auto r = connectTcp(Endpoint{"localhost", server.port()}, true, trusting(cert), quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  const std::string msg = "a1 NOOP\r\n";
  ASSERT_TRUE(r.value()->writeAll(msg.data(), msg.size()).isOk());
  EXPECT_EQ(readExactly(*r.value(), msg.size()), msg);  // the server has finished its handshake
  EXPECT_EQ(server.sni(), "localhost");
  EXPECT_TRUE(
      contains(r.value()->describe(), "localhost:" + std::to_string(server.port()) + " (127.0.0.1), TLSv1"));
}

TEST(TlsTransport, ServerNameOverridesSniAndVerification) {
  TestCert cert(CertSpec{"imap.old.example", {"imap.old.example"}, {}});
  TlsServer server(cert);
  TlsOptions tls = trusting(cert);
  tls.serverName = "imap.old.example";
  auto r = connectTcp(loopback(server.port()), true, tls, quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  const std::string msg = "a1 NOOP\r\n";
  ASSERT_TRUE(r.value()->writeAll(msg.data(), msg.size()).isOk());
  EXPECT_EQ(readExactly(*r.value(), msg.size()), msg);
  EXPECT_EQ(server.sni(), "imap.old.example");
}

TEST(TlsTransport, WrongHostNameIsRejected) {
  TestCert cert;
  TlsServer server(cert);
  TlsOptions tls = trusting(cert);
  tls.serverName = "other.example";
  auto r = connectTcp(loopback(server.port()), true, tls, quickTimeouts());
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Tls);
  EXPECT_EQ(r.status().message(), "TLS certificate verification failed for " + where(server.port()) +
                                      ": certificate is for CN=localhost / DNS:localhost, IP:127.0.0.1, "
                                      "not other.example");
  EXPECT_TRUE(contains(r.status().hint(), "host name the certificate covers"));
}

TEST(TlsTransport, IpAddressNotInCertificateIsRejected) {
  TestCert cert(CertSpec{"localhost", {"localhost"}, {}});
  TlsServer server(cert);
  auto r = connectTcp(loopback(server.port()), true, trusting(cert), quickTimeouts());
  ASSERT_FALSE(r.isOk());
  EXPECT_TRUE(
      contains(r.status().message(), ": certificate is for CN=localhost / DNS:localhost, not 127.0.0.1"));
}

TEST(TlsTransport, ExpiredCertificateIsRejectedWithDate) {
  CertSpec spec;
  spec.notBeforeOffsetSec = -10L * 86400;
  spec.notAfterOffsetSec = -2L * 86400;
  TestCert cert(spec);
  TlsServer server(cert);
  auto r = connectTcp(loopback(server.port()), true, trusting(cert), quickTimeouts());
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Tls);
  EXPECT_EQ(r.status().message(), "TLS certificate verification failed for " + where(server.port()) +
                                      ": certificate has expired (subject CN=localhost, not after " +
                                      cert.notAfterDate() + ")");
  EXPECT_TRUE(contains(r.status().hint(), "renewed"));
}

TEST(TlsTransport, NotYetValidCertificateIsRejected) {
  CertSpec caSpec{"Migrate Test CA", {}, {}};
  caSpec.isCa = true;
  TestCert ca(caSpec);
  CertSpec leafSpec;
  leafSpec.notBeforeOffsetSec = 5L * 86400;
  leafSpec.notAfterOffsetSec = 50L * 86400;
  TestCert leaf(leafSpec, &ca);
  TlsServer server(leaf);
  auto r = connectTcp(loopback(server.port()), true, trusting(ca), quickTimeouts());
  ASSERT_FALSE(r.isOk());
  EXPECT_TRUE(
      contains(r.status().message(), ": certificate is not yet valid (subject CN=localhost, not before "));
  EXPECT_TRUE(contains(r.status().hint(), "clocks"));
}

TEST(TlsTransport, UnknownCaThenTrustedCa) {
  CertSpec caSpec{"Migrate Test CA", {}, {}};
  caSpec.isCa = true;
  TestCert ca(caSpec);
  TestCert leaf(CertSpec{}, &ca);
  TlsServer server(leaf, tlsEcho);
  auto unknown = connectTcp(loopback(server.port()), true, TlsOptions(), quickTimeouts());
  ASSERT_FALSE(unknown.isOk());
  EXPECT_EQ(unknown.status().message(), "TLS certificate verification failed for " + where(server.port()) +
                                            ": certificate issued by an unknown CA (subject CN=localhost, "
                                            "issuer CN=Migrate Test CA)");
  TlsServer server2(leaf);
  auto trusted = connectTcp(loopback(server2.port()), true, trusting(ca), quickTimeouts());
  EXPECT_TRUE(trusted.isOk()) << trusted.status().describe();
}

TEST(TlsTransport, VerifyDisabledAcceptsSelfSigned) {
  TestCert cert(CertSpec{"something.else", {"something.else"}, {}});
  TlsServer server(cert);
  TlsOptions tls;
  tls.verify = false;
  auto r = connectTcp(loopback(server.port()), true, tls, quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  EXPECT_EQ(r.value()->describe(), where(server.port()) + ", TLSv1.3, certificate not verified");
  const std::string msg = "a1 LOGOUT\r\n";
  ASSERT_TRUE(r.value()->writeAll(msg.data(), msg.size()).isOk());
  EXPECT_EQ(readExactly(*r.value(), msg.size()), msg);
}

TEST(TlsTransport, MissingCaFileIsConfigError) {
  TlsOptions tls;
  tls.caFile = "/nonexistent/migrate-ca.pem";
  TestCert cert;
  TlsServer server(cert);
  auto r = connectTcp(loopback(server.port()), true, tls, quickTimeouts());
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Config);
  EXPECT_EQ(r.status().message(),
            "cannot read CA file '/nonexistent/migrate-ca.pem': No such file or directory");
}

TEST(TlsTransport, PlainTextServerOnTlsPort) {
  LoopbackServer server([](int fd) {
    testutil::fdWriteAll(fd, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n");
    testutil::fdDrainUntilEof(fd);
  });
  auto r = connectTcp(loopback(server.port()), true, TlsOptions(), quickTimeouts());
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Tls);
  EXPECT_EQ(r.status().message(), "TLS handshake with " + where(server.port()) +
                                      " failed: the server answered in plain text (\"* OK [CAPABILITY "
                                      "IMAP4rev1 STARTTLS] ready\"), not TLS");
  EXPECT_TRUE(contains(r.status().hint(), "--source-tls starttls"));
}

TEST(TlsTransport, ServerWithoutMinimumVersion) {
  TestCert cert;
  TlsServer server(cert, tlsEcho, TLS1_2_VERSION);
  TlsOptions tls = trusting(cert);
  tls.minVersion = TLS1_3_VERSION;
  auto r = connectTcp(loopback(server.port()), true, tls, quickTimeouts());
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Tls);
  EXPECT_TRUE(contains(r.status().message(), "TLS handshake with " + where(server.port()) +
                                                 " failed: the server does not support TLS 1.3 or newer"));
}

TEST(TlsTransport, Tls12WorksByDefault) {
  TestCert cert;
  TlsServer server(cert, tlsEcho, TLS1_2_VERSION);
  auto r = connectTcp(loopback(server.port()), true, trusting(cert), quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  EXPECT_EQ(r.value()->describe(), where(server.port()) + ", TLSv1.2");
}

TEST(TlsTransport, HandshakeTimeout) {
  LoopbackServer server(testutil::fdDrainUntilEof);  // reads the ClientHello, never answers
  TimeoutOptions timeouts = quickTimeouts();
  timeouts.tlsHandshakeMs = 300;
  const auto start = std::chrono::steady_clock::now();
  auto r = connectTcp(loopback(server.port()), true, TlsOptions(), timeouts);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Timeout);
  EXPECT_EQ(r.status().message(), "TLS handshake with " + where(server.port()) + " timed out after 300 ms");
  EXPECT_GE(elapsed, std::chrono::milliseconds(290));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST(TlsTransport, ServerHangingUpDuringHandshake) {
  LoopbackServer server([](int fd) {
    char buf[512];
    ::recv(fd, buf, sizeof(buf), 0);  // the ClientHello, then hang up
  });
  auto r = connectTcp(loopback(server.port()), true, TlsOptions(), quickTimeouts());
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().kind(), ErrorKind::Tls);
  EXPECT_TRUE(contains(r.status().message(), "TLS handshake with " + where(server.port()) +
                                                 " failed: the server closed the connection during the TLS "
                                                 "handshake"));
}

TEST(TlsTransport, StartTlsUpgradesInPlace) {
  TestCert cert;
  auto ctx = testutil::makeServerContext(cert);
  std::atomic<bool> serverOk{false};
  LoopbackServer server([&](int fd) {
    testutil::fdWriteAll(fd, "* OK ready\r\n");
    if (testutil::fdReadLine(fd) != "a1 STARTTLS\r\n") {
      return;
    }
    testutil::fdWriteAll(fd, "a1 OK Begin TLS negotiation now\r\n");
    SSL* ssl = testutil::tlsAccept(ctx.get(), fd);
    if (ssl == nullptr) {
      return;
    }
    serverOk = testutil::sslReadLine(ssl) == "a2 CAPABILITY\r\n" &&
               testutil::sslWriteAll(ssl, "* CAPABILITY IMAP4rev1\r\n");
    SSL_shutdown(ssl);
    SSL_free(ssl);
  });
  auto r = connectTcp(loopback(server.port()), false, TlsOptions(), quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  Transport& t = *r.value();
  EXPECT_EQ(readExactly(t, 12), "* OK ready\r\n");
  const std::string cmd = "a1 STARTTLS\r\n";
  ASSERT_TRUE(t.writeAll(cmd.data(), cmd.size()).isOk());
  const std::string ok = "a1 OK Begin TLS negotiation now\r\n";
  EXPECT_EQ(readExactly(t, ok.size()), ok);
  EXPECT_FALSE(t.isTls());
  Status s = t.startTls(trusting(cert));
  ASSERT_TRUE(s.isOk()) << s.describe();
  EXPECT_TRUE(t.isTls());
  EXPECT_EQ(t.describe(), where(server.port()) + ", TLSv1.3");
  const std::string cap = "a2 CAPABILITY\r\n";
  ASSERT_TRUE(t.writeAll(cap.data(), cap.size()).isOk());
  auto [got, status] = readUntilError(t);
  EXPECT_EQ(got, "* CAPABILITY IMAP4rev1\r\n");
  EXPECT_EQ(status.message(), "the server closed the connection");  // close_notify
  EXPECT_TRUE(serverOk);
}

TEST(TlsTransport, StartTlsRejectsPlainTextInjectedBeforeHandshake) {
  std::promise<void> injected;
  LoopbackServer server([&](int fd) {
    testutil::fdWriteAll(fd, "a1 OK Begin TLS\r\n");
    testutil::fdWriteAll(fd, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n");
    injected.set_value();
    testutil::fdDrainUntilEof(fd);
  });
  auto r = connectTcp(loopback(server.port()), false, TlsOptions(), quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  Transport& t = *r.value();
  EXPECT_EQ(readExactly(t, 17), "a1 OK Begin TLS\r\n");
  injected.get_future().wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the bytes reach our socket
  Status s = t.startTls(TlsOptions());
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.kind(), ErrorKind::Tls);
  EXPECT_EQ(s.message(),
            "the server " + where(server.port()) + " sent unencrypted data after agreeing to STARTTLS");
  EXPECT_FALSE(t.isTls());
  const std::string more = "x";
  EXPECT_EQ(t.writeAll(more.data(), more.size()).kind(), ErrorKind::Closed);
}

TEST(TlsTransport, StartTlsVerificationFailureClosesTransport) {
  TestCert cert;
  auto ctx = testutil::makeServerContext(cert);
  LoopbackServer server([&](int fd) {
    SSL* ssl = testutil::tlsAccept(ctx.get(), fd);
    SSL_free(ssl);
  });
  auto r = connectTcp(loopback(server.port()), false, TlsOptions(), quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  Status s = r.value()->startTls(TlsOptions());
  ASSERT_FALSE(s.isOk());
  EXPECT_TRUE(contains(s.message(), "self-signed certificate (subject CN=localhost"));
  char c = 0;
  EXPECT_EQ(r.value()->readSome(&c, 1).status().kind(), ErrorKind::Closed);
}

TEST(TlsTransport, LargeTransferBothWaysArrivesIntact) {
  constexpr size_t kSize = 20u << 20;
  const std::string down = testutil::patternBytes(kSize, 1);
  const std::string up = testutil::patternBytes(kSize, 2);
  std::atomic<bool> upIntact{false};
  TestCert cert;
  TlsServer server(cert, [&](SSL* ssl) {
    if (!testutil::sslWriteAll(ssl, down)) {
      return;
    }
    std::string got(kSize, '\0');
    upIntact = testutil::sslReadExactly(ssl, got.data(), got.size()) && got == up;
    testutil::sslWriteAll(ssl, upIntact ? "OK\r\n" : "NO\r\n");
    SSL_shutdown(ssl);
  });
  auto r = connectTcp(loopback(server.port()), true, trusting(cert), quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  Transport& t = *r.value();

  std::vector<char> buf(256 * 1024);
  std::string got;
  got.reserve(kSize);
  size_t reads = 0;
  while (got.size() < kSize) {
    Result<size_t> n = t.readSome(buf.data(), std::min(buf.size(), kSize - got.size()));
    ASSERT_TRUE(n.isOk()) << n.status().describe();
    ASSERT_GT(n.value(), 0u);
    got.append(buf.data(), n.value());
    ++reads;
  }
  EXPECT_TRUE(got == down);
  // One TLS record carries at most 16 KB; readSome must hand over more than one at a time when
  // they are there (it cannot always, the server may be slower than us).
  EXPECT_LT(reads, kSize / 16384) << "readSome returned one record per call";

  ASSERT_TRUE(t.writeAll(up.data(), up.size()).isOk());
  auto [tail, status] = readUntilError(t);
  EXPECT_EQ(tail, "OK\r\n");
  EXPECT_EQ(status.kind(), ErrorKind::Closed);
  EXPECT_TRUE(upIntact);
}

TEST(TlsTransport, EofWithoutCloseNotifyIsClosed) {
  TestCert cert;
  TlsServer server(cert, [](SSL* ssl) {
    testutil::sslWriteAll(ssl, "* BYE\r\n");
    // No SSL_shutdown: the socket is closed after the handler, as many IMAP servers do.
  });
  auto r = connectTcp(loopback(server.port()), true, trusting(cert), quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  auto [got, status] = readUntilError(*r.value());
  EXPECT_EQ(got, "* BYE\r\n");
  EXPECT_EQ(status.kind(), ErrorKind::Closed);
  EXPECT_EQ(status.message(), "the server closed the connection");
}

TEST(TlsTransport, ReadTimeoutUnderTls) {
  TestCert cert;
  std::promise<void> done;
  auto doneFuture = done.get_future().share();
  TlsServer server(cert, [doneFuture](SSL*) { doneFuture.wait_for(std::chrono::seconds(5)); });
  TimeoutOptions timeouts = quickTimeouts();
  timeouts.ioMs = 200;
  auto r = connectTcp(loopback(server.port()), true, trusting(cert), timeouts);
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  char buf[64];
  Result<size_t> n = r.value()->readSome(buf, sizeof(buf));
  done.set_value();
  ASSERT_FALSE(n.isOk());
  EXPECT_EQ(n.status().kind(), ErrorKind::Timeout);
  EXPECT_EQ(n.status().message(), "no data from " + where(server.port()) + " for 200 ms");
}

TEST(TlsTransport, WriteAfterResetUnderTlsIsClosedWithoutSigpipe) {
  TestCert cert;
  TlsServer server(cert, [](SSL* ssl) {
    struct linger lg = {1, 0};
    setsockopt(SSL_get_fd(ssl), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  });
  auto r = connectTcp(loopback(server.port()), true, trusting(cert), quickTimeouts());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  const std::string chunk(65536, 'x');
  Status s;
  for (int i = 0; i < 200 && s.isOk(); ++i) {
    s = r.value()->writeAll(chunk.data(), chunk.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.kind(), ErrorKind::Closed);
}

TEST(TlsTransport, FailuresPrintNothingAndLeaveNoOpenSslErrors) {
  TestCert cert;
  TlsServer server(cert);
  ::testing::internal::CaptureStderr();
  auto r = connectTcp(loopback(server.port()), true, TlsOptions(), quickTimeouts());
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(err, "");
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace migrate::net
