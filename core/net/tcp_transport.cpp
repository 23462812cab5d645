// TCP and TLS transport: a non-blocking socket driven by poll() so that every connect, handshake,
// read and write has a timeout, with OpenSSL layered on top when TLS is active.

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/net_util.h"
#include "net/openssl_tls.h"
#include "net/transport.h"

namespace migrate::net {

namespace {

using detail::errnoText;
using detail::formatDurationMs;
using detail::waitFd;
using detail::WaitResult;
using Clock = std::chrono::steady_clock;

const char* const kClosedMessage = "the server closed the connection";

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

std::string hostPort(const std::string& host, uint16_t port) {
  // IPv6 literals need brackets to keep the port readable.
  if (host.find(':') != std::string::npos) {
    return "[" + host + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

std::string numericAddress(const struct sockaddr* sa, socklen_t len) {
  char buf[NI_MAXHOST] = {};
  if (getnameinfo(sa, len, buf, sizeof(buf), nullptr, 0, NI_NUMERICHOST) != 0) {
    return "?";
  }
  return buf;
}

struct AddrInfoDeleter {
  void operator()(struct addrinfo* ai) const { freeaddrinfo(ai); }
};
using AddrInfoPtr = std::unique_ptr<struct addrinfo, AddrInfoDeleter>;

Result<AddrInfoPtr> resolve(const std::string& host, uint16_t port) {
  if (host.empty()) {
    return Status(ErrorKind::Config, "no source host name given", "set --source-host / migrate_source_host");
  }
  struct addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  // No AI_ADDRCONFIG: it hides 127.0.0.1/::1 on hosts whose only interface is loopback.
  struct addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    const std::string why = rc == EAI_SYSTEM ? errnoText(errno) : gai_strerror(rc);
    return Status(ErrorKind::Dns, "cannot resolve host name '" + host + "': " + why,
                  "check --source-host / migrate_source_host for typos; the server's DNS may be down");
  }
  return AddrInfoPtr(res);
}

void setSocketOptions(int fd) {
  const int one = 1;
  // IMAP commands are small and latency-bound (pipelined FETCH waits on each round trip).
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
#ifdef TCP_KEEPIDLE
  // The default (2 h idle) is useless against NAT boxes that forget idle flows after minutes,
  // e.g. while a large local save keeps the connection quiet.
  const int idle = 60;
  const int interval = 15;
  const int count = 4;
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count));
#endif
}

struct ConnectAttempt {
  int fd = -1;
  Status status;
};

// One non-blocking connect to one address, waiting at most timeoutMs.
ConnectAttempt connectOne(const struct addrinfo* ai, const std::string& target, const std::string& addr,
                          int timeoutMs) {
  ConnectAttempt out;
  const std::string who = target + (addr.empty() ? "" : " (" + addr + ")");
  const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) {
    out.status = Status(ErrorKind::Connect, "cannot create a socket for " + who + ": " + errnoText(errno),
                        "the system may be out of file descriptors");
    return out;
  }
  int err = 0;
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    err = errno;
    if (err == EINPROGRESS || err == EINTR) {
      const WaitResult w = waitFd(fd, POLLOUT, timeoutMs);
      if (w == WaitResult::Timeout) {
        ::close(fd);
        out.status = Status(ErrorKind::Timeout,
                            "connecting to " + who + " timed out after " + formatDurationMs(timeoutMs),
                            "a firewall may drop the traffic, or the host is down; check the host and port");
        return out;
      }
      err = errno;
      if (w == WaitResult::Ready) {
        socklen_t len = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
          err = errno;
        }
      }
    }
  }
  if (err != 0) {
    ::close(fd);
    if (err == ECONNREFUSED) {
      out.status =
          Status(ErrorKind::Connect, "connection to " + who + " refused",
                 "is the IMAP server running and is the port right? 993 is IMAPS, 143 is IMAP/STARTTLS");
    } else if (err == ENETUNREACH || err == EHOSTUNREACH || err == EADDRNOTAVAIL) {
      out.status = Status(ErrorKind::Connect, "cannot reach " + who + ": " + errnoText(err),
                          "check the host name and this host's network route and firewall");
    } else if (err == ETIMEDOUT) {
      out.status = Status(ErrorKind::Timeout, "connecting to " + who + " timed out (" + errnoText(err) + ")",
                          "a firewall may drop the traffic, or the host is down; check the host and port");
    } else {
      out.status = Status(ErrorKind::Connect, "connection to " + who + " failed: " + errnoText(err),
                          "check the host name and port");
    }
    return out;
  }
  setSocketOptions(fd);
  out.fd = fd;
  return out;
}

class TcpTransport final : public Transport {
 public:
  TcpTransport(int fd, std::string host, uint16_t port, std::string address, const TimeoutOptions& timeouts)
      : host_(std::move(host)), port_(port), address_(std::move(address)), timeouts_(timeouts) {
    sock_.fd = fd;
  }
  ~TcpTransport() override { close(); }
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  Status writeAll(const void* data, size_t len) override;
  Result<size_t> readSome(void* buf, size_t cap) override;
  Status startTls(const TlsOptions& tls) override;
  bool isTls() const override { return ssl_ != nullptr; }
  std::string describe() const override;
  void close() override;
  void setIoTimeoutMs(int ms) override { timeouts_.ioMs = ms; }

  // The TLS handshake on the connected socket (implicit TLS and STARTTLS).
  Status handshake(const TlsOptions& tls);

 private:
  std::string where() const { return hostPort(host_, port_); }
  Status notConnected() const {
    return Status(ErrorKind::Closed, "the connection to " + where() + " is already closed");
  }
  Status readTimeout() const {
    return Status(
        ErrorKind::Timeout, "no data from " + where() + " for " + formatDurationMs(timeouts_.ioMs),
        "the server or the network stalled; run the same command again: it continues where it stopped");
  }
  Status writeTimeout() const {
    return Status(ErrorKind::Timeout,
                  "cannot send to " + where() + ": no progress for " + formatDurationMs(timeouts_.ioMs),
                  "the server stopped reading or the network stalled");
  }
  Status socketError(int err, const char* doing) const;
  Status tlsError(int sslError, const char* doing);
  Status waitFor(short events, bool reading);

  Result<size_t> plainRead(char* buf, size_t cap);
  Result<size_t> tlsRead(char* buf, size_t cap);
  Status plainWrite(const char* p, size_t len);
  Status tlsWrite(const char* p, size_t len);

  std::string host_;
  uint16_t port_;
  std::string address_;  // numeric address we are connected to
  TimeoutOptions timeouts_;
  detail::SocketBioState sock_;
  std::shared_ptr<SSL_CTX> ctx_;  // keeps the shared context alive while ssl_ uses it
  SSL* ssl_ = nullptr;
  bool sslBroken_ = false;  // after a fatal TLS error SSL_shutdown must not be called
  std::string tlsSummary_;  // ", TLSv1.3" etc., kept for describe() after close()
  detail::VerifyFailure verifyFailure_;
  Status pendingError_;  // an error met after returning data; reported by the next read
};

Status TcpTransport::socketError(int err, const char* doing) const {
  if (err == ECONNRESET || err == EPIPE || err == ECONNABORTED) {
    return Status(ErrorKind::Closed, std::string(kClosedMessage) + " (" + errnoText(err) + ")");
  }
  if (err == ETIMEDOUT) {
    return Status(ErrorKind::Timeout, std::string(doing) + " " + where() + " failed: " + errnoText(err),
                  "the network or the server stopped responding");
  }
  return Status(ErrorKind::Connect, std::string(doing) + " " + where() + " failed: " + errnoText(err));
}

Status TcpTransport::waitFor(short events, bool reading) {
  switch (waitFd(sock_.fd, events, timeouts_.ioMs)) {
    case WaitResult::Ready:
      return Status::ok();
    case WaitResult::Timeout:
      return reading ? readTimeout() : writeTimeout();
    case WaitResult::Error:
      break;
  }
  return Status(ErrorKind::Internal,
                "poll() on the connection to " + where() + " failed: " + errnoText(errno));
}

Result<size_t> TcpTransport::readSome(void* buf, size_t cap) {
  if (!pendingError_.isOk()) {
    return pendingError_;
  }
  if (sock_.fd < 0) {
    return notConnected();
  }
  if (cap == 0) {
    return size_t{0};
  }
  return ssl_ != nullptr ? tlsRead(static_cast<char*>(buf), cap) : plainRead(static_cast<char*>(buf), cap);
}

Result<size_t> TcpTransport::plainRead(char* buf, size_t cap) {
  for (;;) {
    const ssize_t n = ::recv(sock_.fd, buf, cap, 0);
    if (n > 0) {
      return static_cast<size_t>(n);
    }
    if (n == 0) {
      return Status(ErrorKind::Closed, kClosedMessage);
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return socketError(errno, "reading from");
    }
    MIGRATE_RETURN_IF_ERROR(waitFor(POLLIN, true));
  }
}

Result<size_t> TcpTransport::tlsRead(char* buf, size_t cap) {
  size_t total = 0;
  for (;;) {
    ERR_clear_error();
    size_t n = 0;
    const int rc = SSL_read_ex(ssl_, buf + total, cap - total, &n);
    if (rc == 1) {
      total += n;
      if (total == cap) {
        return total;
      }
      // Keep filling the caller's buffer while records are already here: one 16 KB record per
      // call would cost a round of parser work per record on bulk FETCH responses.
      continue;
    }
    const int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (total > 0) {
        return total;
      }
      MIGRATE_RETURN_IF_ERROR(waitFor(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, true));
      continue;
    }
    Status s = tlsError(err, "reading from");
    if (total > 0) {
      pendingError_ = s;
      return total;
    }
    return s;
  }
}

Status TcpTransport::writeAll(const void* data, size_t len) {
  if (sock_.fd < 0) {
    return notConnected();
  }
  const char* p = static_cast<const char*>(data);
  return ssl_ != nullptr ? tlsWrite(p, len) : plainWrite(p, len);
}

Status TcpTransport::plainWrite(const char* p, size_t len) {
  while (len > 0) {
    const ssize_t n = ::send(sock_.fd, p, len, MSG_NOSIGNAL);
    if (n >= 0) {
      p += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return socketError(errno, "sending to");
    }
    MIGRATE_RETURN_IF_ERROR(waitFor(POLLOUT, false));
  }
  return Status::ok();
}

Status TcpTransport::tlsWrite(const char* p, size_t len) {
  while (len > 0) {
    ERR_clear_error();
    size_t n = 0;
    const int rc = SSL_write_ex(ssl_, p, len, &n);
    if (rc == 1) {
      p += n;
      len -= n;
      continue;
    }
    const int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      MIGRATE_RETURN_IF_ERROR(waitFor(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, false));
      continue;
    }
    return tlsError(err, "sending to");
  }
  return Status::ok();
}

Status TcpTransport::tlsError(int sslError, const char* doing) {
  const detail::SslErrors errors = detail::drainSslErrors();
  if (sslError == SSL_ERROR_ZERO_RETURN) {
    return Status(ErrorKind::Closed, kClosedMessage);
  }
  sslBroken_ = true;
  if (sslError == SSL_ERROR_SYSCALL) {
    if (sock_.lastErrno != 0) {
      return socketError(sock_.lastErrno, doing);
    }
    return Status(ErrorKind::Closed, kClosedMessage);
  }
  return Status(ErrorKind::Tls,
                std::string("TLS error ") + doing + " " + where() + ": " +
                    (errors.text.empty() ? "unknown error" : errors.text),
                "the connection was corrupted or the server's TLS failed; retrying may help");
}

Status TcpTransport::startTls(const TlsOptions& tls) {
  if (sock_.fd < 0) {
    return notConnected();
  }
  if (ssl_ != nullptr) {
    return Status(ErrorKind::Internal, "STARTTLS on " + where() + ", which already uses TLS");
  }
  // Nothing may arrive between the server's STARTTLS OK and our ClientHello. Bytes here were
  // sent in plain text before the handshake: a man in the middle injecting responses
  // (CVE-2011-0411 style) or a broken server. Either way they must not be trusted.
  char probe = 0;
  const ssize_t n = ::recv(sock_.fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) {
    close();
    return Status(ErrorKind::Tls,
                  "the server " + where() + " sent unencrypted data after agreeing to STARTTLS",
                  "this may be an attack injecting commands; check the network path to the source server");
  }
  Status s = handshake(tls);
  if (!s.isOk()) {
    // The socket is mid-handshake: nothing useful can be read or written on it any more.
    close();
  }
  return s;
}

Status TcpTransport::handshake(const TlsOptions& tls) {
  MIGRATE_ASSIGN_OR_RETURN(std::shared_ptr<SSL_CTX> ctx, detail::clientContext(tls));
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx.get());
  BIO* bio = ssl != nullptr ? detail::newSocketBio(&sock_) : nullptr;
  if (bio == nullptr) {
    SSL_free(ssl);
    return Status(ErrorKind::Internal,
                  "cannot set up TLS for " + where() + ": " + detail::drainSslErrors().text);
  }
  SSL_set_bio(ssl, bio, bio);

  const std::string name = tls.serverName.empty() ? host_ : tls.serverName;
  const bool ip = detail::isIpLiteral(name);
  // RFC 6066: SNI carries host names only, never IP literals.
  if (!ip) {
    // SSL_set_tlsext_host_name() without its C cast (-Wold-style-cast).
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(name.c_str()));
  }
  verifyFailure_ = detail::VerifyFailure();
  if (tls.verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    int rc = 0;
    if (ip) {
      rc = X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      rc = X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    }
    if (rc != 1) {
      SSL_free(ssl);
      return Status(ErrorKind::Config,
                    "invalid TLS server name '" + name + "': " + detail::drainSslErrors().text);
    }
    detail::enableVerification(ssl, &verifyFailure_);
  } else {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
  }

  sock_.capture = true;
  sock_.captured.clear();
  sock_.eof = false;
  sock_.lastErrno = 0;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeouts_.tlsHandshakeMs);
  Status result;
  for (;;) {
    ERR_clear_error();
    const int rc = SSL_connect(ssl);
    if (rc == 1) {
      break;
    }
    const int err = SSL_get_error(ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      const WaitResult w =
          waitFd(sock_.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, remainingMs(deadline));
      if (w == WaitResult::Ready) {
        continue;
      }
      detail::drainSslErrors();
      result =
          w == WaitResult::Timeout
              ? Status(ErrorKind::Timeout,
                       "TLS handshake with " + where() + " timed out after " +
                           formatDurationMs(timeouts_.tlsHandshakeMs),
                       port_ == 143 ? "port 143 usually speaks STARTTLS, not implicit TLS: try --source-tls "
                                      "starttls"
                                    : "the server does not answer the TLS handshake; check that this port "
                                      "speaks TLS")
              : Status(ErrorKind::Internal, "poll() during the TLS handshake failed: " + errnoText(errno));
      break;
    }
    detail::HandshakeContext hc;
    hc.where = where();
    hc.expectedName = name;
    hc.port = port_;
    hc.minVersion = tls.minVersion;
    hc.sslError = err;
    hc.verify = tls.verify ? &verifyFailure_ : nullptr;
    hc.verifyResult = tls.verify ? SSL_get_verify_result(ssl) : X509_V_OK;
    hc.socket = &sock_;
    result = detail::handshakeFailure(hc);
    break;
  }
  sock_.capture = false;
  sock_.captured.clear();
  if (result.isOk() && tls.verify && SSL_get_verify_result(ssl) != X509_V_OK) {
    // Belt and braces: the callback cannot have let a failure through, but never run unverified.
    result = Status(ErrorKind::Tls, "TLS certificate verification failed for " + where() + ": " +
                                        X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
  }
  if (!result.isOk()) {
    SSL_free(ssl);
    ERR_clear_error();
    return result;
  }
  ssl_ = ssl;
  ctx_ = std::move(ctx);
  tlsSummary_ = std::string(", ") + SSL_get_version(ssl_) + (tls.verify ? "" : ", certificate not verified");
  return Status::ok();
}

std::string TcpTransport::describe() const {
  std::string out = where();
  if (!address_.empty() && address_ != host_) {
    out += " (" + address_ + ")";
  }
  return out + tlsSummary_;
}

void TcpTransport::close() {
  if (ssl_ != nullptr) {
    if (!sslBroken_ && sock_.fd >= 0) {
      // One non-blocking attempt to send close_notify; we do not wait for the server's.
      ERR_clear_error();
      SSL_shutdown(ssl_);
    }
    SSL_free(ssl_);
    ssl_ = nullptr;
    ERR_clear_error();
  }
  if (sock_.fd >= 0) {
    ::close(sock_.fd);
    sock_.fd = -1;
  }
}

}  // namespace

Result<std::unique_ptr<Transport>> connectTcp(const Endpoint& endpoint, bool implicitTls,
                                              const TlsOptions& tls, const TimeoutOptions& timeouts) {
  if (endpoint.port == 0) {
    return Status(ErrorKind::Config, "no port given for " + endpoint.host,
                  "use 993 for IMAPS or 143 for IMAP/STARTTLS");
  }
  if (implicitTls) {
    // A bad CA file is a configuration error: report it before touching the network.
    MIGRATE_ASSIGN_OR_RETURN(std::shared_ptr<SSL_CTX> ctx, detail::clientContext(tls));
  }
  MIGRATE_ASSIGN_OR_RETURN(AddrInfoPtr addrs, resolve(endpoint.host, endpoint.port));
  const std::string target = hostPort(endpoint.host, endpoint.port);
  Status first;
  std::vector<std::string> others;
  for (const struct addrinfo* ai = addrs.get(); ai != nullptr; ai = ai->ai_next) {
    const std::string addr = numericAddress(ai->ai_addr, ai->ai_addrlen);
    ConnectAttempt attempt = connectOne(ai, target, addr == endpoint.host ? "" : addr, timeouts.connectMs);
    if (attempt.fd >= 0) {
      auto transport =
          std::make_unique<TcpTransport>(attempt.fd, endpoint.host, endpoint.port, addr, timeouts);
      if (implicitTls) {
        MIGRATE_RETURN_IF_ERROR(transport->handshake(tls));
      }
      return std::unique_ptr<Transport>(std::move(transport));
    }
    if (first.isOk()) {
      first = attempt.status;
    } else {
      others.push_back(addr);
    }
  }
  if (!others.empty()) {
    // Report the first address's error (the one the resolver prefers) and that others failed too.
    std::string list;
    for (const std::string& a : others) {
      list += (list.empty() ? "" : ", ") + a;
    }
    return Status(first.kind(), first.message() + "; " + list + " failed too", first.hint());
  }
  return first;
}

Result<std::vector<std::string>> resolveAddresses(const std::string& host) {
  MIGRATE_ASSIGN_OR_RETURN(AddrInfoPtr addrs, resolve(host, 0));
  std::vector<std::string> out;
  for (const struct addrinfo* ai = addrs.get(); ai != nullptr; ai = ai->ai_next) {
    std::string addr = numericAddress(ai->ai_addr, ai->ai_addrlen);
    bool seen = false;
    for (const std::string& a : out) {
      seen = seen || a == addr;
    }
    if (!seen) {
      out.push_back(std::move(addr));
    }
  }
  return out;
}

Result<std::string> resolveFirstAddress(const std::string& host) {
  MIGRATE_ASSIGN_OR_RETURN(std::vector<std::string> all, resolveAddresses(host));
  return all.front();
}

}  // namespace migrate::net
