#include "net/openssl_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <map>
#include <mutex>
#include <tuple>

#include "net/net_util.h"

namespace migrate::net::detail {

namespace {

// ---- socket BIO -------------------------------------------------------------------------------

SocketBioState* bioState(BIO* b) {
  return static_cast<SocketBioState*>(BIO_get_data(b));
}

int bioWrite(BIO* b, const char* data, int len) {
  SocketBioState* s = bioState(b);
  BIO_clear_retry_flags(b);
  for (;;) {
    const ssize_t n = ::send(s->fd, data, static_cast<size_t>(len), MSG_NOSIGNAL);
    if (n >= 0) {
      return static_cast<int>(n);
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_write(b);
      return -1;
    }
    s->lastErrno = errno;
    return -1;
  }
}

int bioRead(BIO* b, char* out, int len) {
  SocketBioState* s = bioState(b);
  BIO_clear_retry_flags(b);
  for (;;) {
    const ssize_t n = ::recv(s->fd, out, static_cast<size_t>(len), 0);
    if (n > 0) {
      if (s->capture && s->captured.size() < 64) {
        s->captured.append(out, std::min<size_t>(static_cast<size_t>(n), 64 - s->captured.size()));
      }
      return static_cast<int>(n);
    }
    if (n == 0) {
      s->eof = true;
      return 0;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_read(b);
      return -1;
    }
    s->lastErrno = errno;
    return -1;
  }
}

int bioPuts(BIO* b, const char* str) {
  return bioWrite(b, str, static_cast<int>(std::char_traits<char>::length(str)));
}

long bioCtrl(BIO* b, int cmd, long /*num*/, void* /*ptr*/) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return bioState(b)->eof ? 1 : 0;
    default:
      return 0;
  }
}

int bioCreate(BIO* /*b*/) {
  return 1;
}
int bioDestroy(BIO* /*b*/) {
  return 1;
}  // the state belongs to the transport

const BIO_METHOD* socketBioMethod() {
  // Created once and never freed: connections may outlive static destruction order.
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "migrate socket");
    BIO_meth_set_write(m, bioWrite);
    BIO_meth_set_read(m, bioRead);
    BIO_meth_set_puts(m, bioPuts);
    BIO_meth_set_ctrl(m, bioCtrl);
    BIO_meth_set_create(m, bioCreate);
    BIO_meth_set_destroy(m, bioDestroy);
    return m;
  }();
  return method;
}

// ---- certificates -----------------------------------------------------------------------------

std::string nameText(const X509_NAME* name) {
  if (name == nullptr) {
    return "(none)";
  }
  BIO* mem = BIO_new(BIO_s_mem());
  if (mem == nullptr) {
    return "(unknown)";
  }
  X509_NAME_print_ex(mem, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long len = BIO_get_mem_data(mem, &data);
  std::string text = len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string("(empty)");
  BIO_free(mem);
  return text;
}

std::string dateText(const ASN1_TIME* t) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return "(unknown date)";
  }
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

std::string ipText(const ASN1_OCTET_STRING* ip) {
  const int len = ASN1_STRING_length(ip);
  const unsigned char* data = ASN1_STRING_get0_data(ip);
  char buf[INET6_ADDRSTRLEN] = {};
  if (len == 4) {
    inet_ntop(AF_INET, data, buf, sizeof(buf));
  } else if (len == 16) {
    inet_ntop(AF_INET6, data, buf, sizeof(buf));
  } else {
    return "(malformed)";
  }
  return buf;
}

// "CN=imap.example.org / DNS:imap.example.org, DNS:*.example.org, IP:192.0.2.1": the names a
// certificate can be verified against.
std::string certificateNames(X509* cert) {
  std::string cn;
  const X509_NAME* subject = X509_get_subject_name(cert);
  const int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx >= 0) {
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, s);
    if (len >= 0) {
      cn = "CN=" + std::string(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
      OPENSSL_free(utf8);
    }
  }
  std::vector<std::string> alt;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    const int count = sk_GENERAL_NAME_num(names);
    for (int i = 0; i < count; ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
      if (gn->type == GEN_DNS) {
        const ASN1_STRING* s = gn->d.dNSName;
        alt.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                           static_cast<size_t>(ASN1_STRING_length(s))));
      } else if (gn->type == GEN_IPADD) {
        alt.push_back("IP:" + ipText(gn->d.iPAddress));
      }
    }
    GENERAL_NAMES_free(names);
  }
  constexpr size_t kMaxNames = 8;
  std::string altText;
  for (size_t i = 0; i < alt.size() && i < kMaxNames; ++i) {
    altText += (i == 0 ? "" : ", ") + alt[i];
  }
  if (alt.size() > kMaxNames) {
    altText += " and " + std::to_string(alt.size() - kMaxNames) + " more";
  }
  if (cn.empty() && altText.empty()) {
    return "no host name at all";
  }
  if (cn.empty()) {
    return altText;
  }
  return altText.empty() ? cn : cn + " / " + altText;
}

int verifyIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int verifyCallback(int preverifyOk, X509_STORE_CTX* store) noexcept {
  if (preverifyOk == 1) {
    return 1;
  }
  try {
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* v = ssl != nullptr ? static_cast<VerifyFailure*>(SSL_get_ex_data(ssl, verifyIndex())) : nullptr;
    if (v != nullptr && !v->failed) {
      v->failed = true;
      v->error = X509_STORE_CTX_get_error(store);
      v->depth = X509_STORE_CTX_get_error_depth(store);
      X509* cert = X509_STORE_CTX_get_current_cert(store);
      if (cert != nullptr) {
        v->subject = nameText(X509_get_subject_name(cert));
        v->issuer = nameText(X509_get_issuer_name(cert));
        v->notBefore = dateText(X509_get0_notBefore(cert));
        v->notAfter = dateText(X509_get0_notAfter(cert));
      }
      X509* leaf = X509_STORE_CTX_get0_cert(store);
      if (leaf != nullptr) {
        v->leafNames = certificateNames(leaf);
        if (cert == nullptr) {
          v->subject = nameText(X509_get_subject_name(leaf));
          v->issuer = nameText(X509_get_issuer_name(leaf));
        }
      }
    }
  } catch (...) {
    // Out of memory while formatting diagnostics: the verdict (failure) stands.
  }
  return 0;
}

bool printableText(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u < 0x7f) || c == '\r' || c == '\n' || c == '\t';
  });
}

std::string firstLine(const std::string& s) {
  std::string line = s.substr(0, s.find_first_of("\r\n"));
  if (line.size() > 48) {
    line = line.substr(0, 48) + "...";
  }
  return line;
}

// OpenSSL may stop after a record header's 5 bytes; when those were plain text, take what else of
// the server's first line has arrived (waiting briefly), so the error can quote it.
void completeCapturedLine(SocketBioState* s) {
  if (s == nullptr || s->captured.empty() || s->captured[0] == '\x16' || s->captured[0] == '\x15' ||
      s->captured.find('\n') != std::string::npos) {
    return;
  }
  char buf[64];
  while (s->captured.size() < sizeof buf && s->captured.find('\n') == std::string::npos) {
    pollfd p{s->fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) {
      return;
    }
    const ssize_t n = ::recv(s->fd, buf, sizeof buf - s->captured.size(), MSG_DONTWAIT);
    if (n <= 0) {
      return;
    }
    s->captured.append(buf, static_cast<size_t>(n));
  }
}

// Ends every certificate hint: the escape hatch, and that it is one.
const char* const kInsecureHint = "--insecure to skip verification (not recommended)";

}  // namespace

BIO* newSocketBio(SocketBioState* state) {
  BIO* b = BIO_new(socketBioMethod());
  if (b != nullptr) {
    BIO_set_data(b, state);
    BIO_set_init(b, 1);
  }
  return b;
}

bool SslErrors::has(int reason) const {
  return std::find(reasons.begin(), reasons.end(), reason) != reasons.end();
}

SslErrors drainSslErrors() {
  SslErrors out;
  const char* data = nullptr;
  int flags = 0;
  for (;;) {
    const unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags);
    if (code == 0) {
      break;
    }
    out.reasons.push_back(ERR_GET_REASON(code));
    const char* reason = ERR_reason_error_string(code);
    std::string one = reason != nullptr ? reason : "error " + std::to_string(ERR_GET_REASON(code));
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      one += std::string(" (") + data + ")";
    }
    if (out.text.find(one) == std::string::npos) {
      out.text += (out.text.empty() ? "" : "; ") + one;
    }
  }
  return out;
}

std::string tlsVersionName(int version) {
  switch (version) {
    case TLS1_VERSION:
      return "TLS 1.0";
    case TLS1_1_VERSION:
      return "TLS 1.1";
    case TLS1_2_VERSION:
      return "TLS 1.2";
    case TLS1_3_VERSION:
      return "TLS 1.3";
    default:
      return "TLS (version " + std::to_string(version) + ")";
  }
}

Result<std::shared_ptr<SSL_CTX>> clientContext(const TlsOptions& tls) {
  using Key = std::tuple<bool, std::string, std::string, int>;
  // Leaked on purpose: freeing contexts from a static destructor could run after OpenSSL's own
  // atexit cleanup.
  static auto* mutex = new std::mutex;
  static auto* cache = new std::map<Key, std::shared_ptr<SSL_CTX>>;

  const Key key{tls.verify, tls.verify ? tls.caFile : "", tls.verify ? tls.caDir : "", tls.minVersion};
  std::lock_guard<std::mutex> lock(*mutex);
  auto it = cache->find(key);
  if (it != cache->end()) {
    return it->second;
  }

  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) {
    return Status(ErrorKind::Internal, "cannot create a TLS context: " + drainSslErrors().text);
  }
  if (tls.minVersion != 0 && SSL_CTX_set_min_proto_version(ctx.get(), tls.minVersion) != 1) {
    drainSslErrors();
    return Status(ErrorKind::Config, "unsupported minimum TLS version " + tlsVersionName(tls.minVersion));
  }
  // Many IMAP servers hang up after "* BYE" without a TLS close_notify; IMAP's own framing
  // (tagged responses, literal sizes) detects truncation, so treat a bare EOF as a normal close.
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Let OpenSSL pull several records per recv(): fewer syscalls on bulk FETCH responses.
  SSL_CTX_set_read_ahead(ctx.get(), 1);

  if (tls.verify) {
    if (!tls.caFile.empty() && ::access(tls.caFile.c_str(), R_OK) != 0) {
      return Status(ErrorKind::Config, "cannot read CA file '" + tls.caFile + "': " + errnoText(errno),
                    "--ca-file must name a readable PEM file with the CA certificate(s)");
    }
    if (!tls.caDir.empty() && ::access(tls.caDir.c_str(), R_OK | X_OK) != 0) {
      return Status(ErrorKind::Config, "cannot read CA directory '" + tls.caDir + "': " + errnoText(errno),
                    "the CA directory must be readable and hashed (openssl rehash)");
    }
    int rc = 0;
    if (tls.caFile.empty() && tls.caDir.empty()) {
      rc = SSL_CTX_set_default_verify_paths(ctx.get());
    } else {
      rc = SSL_CTX_load_verify_locations(ctx.get(), tls.caFile.empty() ? nullptr : tls.caFile.c_str(),
                                         tls.caDir.empty() ? nullptr : tls.caDir.c_str());
    }
    if (rc != 1) {
      const std::string what = !tls.caFile.empty()  ? "CA file '" + tls.caFile + "'"
                               : !tls.caDir.empty() ? "CA directory '" + tls.caDir + "'"
                                                    : std::string("the system's CA certificates");
      return Status(ErrorKind::Config, "cannot load " + what + ": " + drainSslErrors().text,
                    "--ca-file must name a PEM file with the CA certificate(s)");
    }
  }
  drainSslErrors();  // e.g. a missing default CA directory is not an error
  cache->emplace(key, ctx);
  return ctx;
}

void enableVerification(SSL* ssl, VerifyFailure* out) {
  SSL_set_ex_data(ssl, verifyIndex(), out);
  SSL_set_verify(ssl, SSL_VERIFY_PEER, verifyCallback);
}

Status verificationFailure(const VerifyFailure& v, const std::string& where,
                           const std::string& expectedName) {
  const std::string prefix = "TLS certificate verification failed for " + where + ": ";
  const std::string subject = "subject " + v.subject;
  const std::string trustHint = "give the server's CA with --ca-file, or " + std::string(kInsecureHint);
  switch (v.error) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return Status(ErrorKind::Tls,
                    prefix + "self-signed certificate (" + subject + ", issuer " + v.issuer + ")", trustHint);
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return Status(ErrorKind::Tls,
                    prefix + "the chain ends in an untrusted self-signed root (root " + subject + ")",
                    trustHint);
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return Status(ErrorKind::Tls,
                    prefix + "certificate issued by an unknown CA (" + subject + ", issuer " + v.issuer + ")",
                    "give the issuing CA with --ca-file (if it is an intermediate CA, the server may not "
                    "send its chain), or " +
                        std::string(kInsecureHint));
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return Status(
          ErrorKind::Tls,
          prefix + (v.depth == 0 ? "certificate has expired (" : "a CA certificate has expired (") + subject +
              ", not after " + v.notAfter + ")",
          "the certificate on the source server must be renewed (or this host's clock is wrong), or " +
              std::string(kInsecureHint));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return Status(
          ErrorKind::Tls,
          prefix + (v.depth == 0 ? "certificate is not yet valid (" : "a CA certificate is not yet valid (") +
              subject + ", not before " + v.notBefore + ")",
          "check the clocks of this host and of the source server, or " + std::string(kInsecureHint));
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return Status(ErrorKind::Tls, prefix + "certificate is for " + v.leafNames + ", not " + expectedName,
                    "connect with a host name the certificate covers, or " + std::string(kInsecureHint));
    default:
      return Status(
          ErrorKind::Tls,
          prefix + X509_verify_cert_error_string(v.error) + " (" + subject + ", issuer " + v.issuer + ")",
          "check the certificate on the source server, or " + std::string(kInsecureHint));
  }
}

Status handshakeFailure(const HandshakeContext& ctx) {
  const SslErrors errors = drainSslErrors();
  if (ctx.verify != nullptr && ctx.verify->failed) {
    return verificationFailure(*ctx.verify, ctx.where, ctx.expectedName);
  }
  const std::string prefix = "TLS handshake with " + ctx.where + " failed: ";
  if (ctx.verifyResult != X509_V_OK) {
    VerifyFailure v;
    v.error = ctx.verifyResult;
    v.subject = v.issuer = "(unknown)";
    return verificationFailure(v, ctx.where, ctx.expectedName);
  }

  // A TLS server's first bytes are a handshake (22) or alert (21) record; anything else means the
  // port does not speak implicit TLS (typically an IMAP greeting on 143).
  completeCapturedLine(ctx.socket);
  const std::string got = ctx.socket != nullptr ? ctx.socket->captured : std::string();
  if (!got.empty() && got[0] != '\x16' && got[0] != '\x15') {
    const std::string hint =
        ctx.port == 143 ? "port 143 usually speaks STARTTLS, not implicit TLS: try --source-tls starttls"
                        : "this port does not speak implicit TLS: check the port (993 is IMAPS), or if the "
                          "server offers STARTTLS try --source-tls starttls";
    if (printableText(got)) {
      return Status(ErrorKind::Tls,
                    prefix + "the server answered in plain text (\"" + firstLine(got) + "\"), not TLS", hint);
    }
    return Status(ErrorKind::Tls, prefix + "the server's answer is not TLS", hint);
  }

  if (errors.has(SSL_R_UNSUPPORTED_PROTOCOL) || errors.has(SSL_R_TLSV1_ALERT_PROTOCOL_VERSION) ||
      errors.has(SSL_R_NO_PROTOCOLS_AVAILABLE) || errors.has(SSL_R_VERSION_TOO_LOW)) {
    const std::string min = tlsVersionName(ctx.minVersion != 0 ? ctx.minVersion : TLS1_2_VERSION);
    return Status(ErrorKind::Tls,
                  prefix + "the server does not support " + min + " or newer (" + errors.text + ")",
                  "the source server's TLS is outdated: update its TLS setup, or migrate over a trusted "
                  "network with --source-tls none");
  }

  if (ctx.sslError == SSL_ERROR_SYSCALL || ctx.sslError == SSL_ERROR_ZERO_RETURN ||
      (ctx.socket != nullptr && (ctx.socket->eof || ctx.socket->lastErrno != 0))) {
    std::string what = "the server closed the connection during the TLS handshake";
    if (ctx.socket != nullptr && ctx.socket->lastErrno != 0 && ctx.socket->lastErrno != EPIPE) {
      what += " (" + errnoText(ctx.socket->lastErrno) + ")";
    }
    return Status(ErrorKind::Tls, prefix + what,
                  ctx.port == 143
                      ? "port 143 usually speaks STARTTLS, not implicit TLS: try --source-tls starttls"
                      : "the server may refuse our TLS versions or ciphers; check its TLS "
                        "configuration and log");
  }

  return Status(ErrorKind::Tls, prefix + (errors.text.empty() ? "unknown TLS error" : errors.text),
                "check the source server's TLS configuration and log");
}

}  // namespace migrate::net::detail
