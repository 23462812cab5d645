#include "engine/source_services.h"

#include <algorithm>
#include <utility>

#include "net/limits.h"
#include "net/rawlog_transport.h"

namespace migrate {

namespace {

constexpr uint16_t kPop3sPort = 995;
constexpr uint16_t kPop3Port = 110;
constexpr uint16_t kManageSievePort = 4190;
// In auto mode a host may silently drop packets to a port it does not serve: wait less for it.
constexpr int kAutoConnectMs = 10000;

ServiceEndpoint baseEndpoint(const ServiceChoice& choice, const SourceOptions& src) {
  ServiceEndpoint ep;
  ep.automatic = choice.mode != ServiceChoice::Mode::Host;
  ep.host = ep.automatic || choice.host.empty() ? src.host : choice.host;
  ep.port = ep.automatic ? 0 : choice.port;
  return ep;
}

// A connection to `ep`, traced when the run traces, paced when the run is.
Result<std::unique_ptr<net::Transport>> connectService(const SourceOptions& src, const ServiceEndpoint& ep,
                                                       const ServiceConnectEnv& env) {
  SourceOptions at = src;
  at.host = ep.host;
  at.port = ep.port;
  at.tlsMode = ep.tls;
  if (ep.automatic) {
    at.timeouts.connectMs = std::min(at.timeouts.connectMs, kAutoConnectMs);
  }
  Result<std::unique_ptr<net::Transport>> t =
      env.connect
          ? env.connect(at)
          : net::connectTcp(net::Endpoint{ep.host, ep.port}, ep.tls == TlsMode::Imaps, src.tls, at.timeouts);
  if (!t.isOk()) {
    return t.status();
  }
  std::unique_ptr<net::Transport> transport = std::move(t).value();
  if (env.maxBytesPerSecond > 0) {
    transport = net::rateLimited(std::move(transport), ep.host, env.maxBytesPerSecond);
  }
  if (!src.rawlogDir.empty()) {
    MIGRATE_ASSIGN_OR_RETURN(std::unique_ptr<net::RawlogTransport> traced,
                             net::RawlogTransport::create(std::move(transport), src.rawlogDir));
    transport = std::move(traced);
  }
  return transport;
}

net::PeerOptions peerOptions(const SourceOptions& src, const ServiceEndpoint& ep) {
  net::PeerOptions po;
  po.peerName = ep.host + ":" + std::to_string(ep.port);
  po.ioTimeoutMs = src.timeouts.ioMs;
  return po;
}

Status noOAuth(const SourceOptions& src, const char* service) {
  if (src.oauth2TokenFile.empty() && src.oauth2TokenCommand.empty()) {
    return Status::ok();
  }
  return Status(ErrorKind::Config,
                std::string("a ") + service + " login with an OAuth2 token is not supported",
                std::string("set --source-") + (std::string(service) == "POP3" ? "pop3" : "sieve") +
                    " no, or give the source password instead of the token");
}

// Connects, reads the greeting, does STARTTLS/STLS when `ep` says so and logs in.
template <class Session>
Result<std::unique_ptr<Session>> openService(const SourceOptions& src, const ServiceEndpoint& ep,
                                             const ServiceConnectEnv& env, const char* service) {
  MIGRATE_RETURN_IF_ERROR(noOAuth(src, service));
  MIGRATE_ASSIGN_OR_RETURN(std::unique_ptr<net::Transport> transport, connectService(src, ep, env));
  auto session = std::make_unique<Session>(std::move(transport), peerOptions(src, ep));
  MIGRATE_RETURN_IF_ERROR(session->readGreeting());
  if (ep.tls == TlsMode::StartTls) {
    MIGRATE_RETURN_IF_ERROR(session->startTls(src.tls));
  }
  MIGRATE_RETURN_IF_ERROR(session->login(src.user, src.password, src.masterUser));
  return session;
}

}  // namespace

std::string ServiceEndpoint::describe() const {
  const std::string name = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const char* mode = tls == TlsMode::Imaps ? "TLS" : tls == TlsMode::StartTls ? "STARTTLS" : "no TLS";
  return name + ":" + std::to_string(port) + " (" + mode + ")";
}

ServiceEndpoint pop3Endpoint(const SourceOptions& src) {
  ServiceEndpoint ep = baseEndpoint(src.pop3, src);
  if (ep.port == 0) {
    ep.port = src.tlsMode == TlsMode::Imaps ? kPop3sPort : kPop3Port;
  }
  if (src.tlsMode == TlsMode::None) {
    ep.tls = TlsMode::None;
  } else if (ep.port == kPop3sPort) {
    ep.tls = TlsMode::Imaps;
  } else if (ep.port == kPop3Port) {
    ep.tls = TlsMode::StartTls;
  } else {
    ep.tls = src.tlsMode;
  }
  return ep;
}

ServiceEndpoint sieveEndpoint(const SourceOptions& src) {
  ServiceEndpoint ep = baseEndpoint(src.sieve, src);
  if (ep.port == 0) {
    ep.port = kManageSievePort;
  }
  ep.tls = src.tlsMode == TlsMode::None ? TlsMode::None : TlsMode::StartTls;
  return ep;
}

bool serviceAbsent(const Status& error) {
  switch (error.kind()) {
    case ErrorKind::Dns:
    case ErrorKind::Connect:
    case ErrorKind::Timeout:
    case ErrorKind::Closed:
      return true;
    default:
      return false;
  }
}

Result<std::unique_ptr<pop3::Session>> openPop3(const SourceOptions& src, const ServiceEndpoint& ep,
                                                const ServiceConnectEnv& env) {
  return openService<pop3::Session>(src, ep, env, "POP3");
}

Result<std::unique_ptr<sieve::Session>> openManageSieve(const SourceOptions& src, const ServiceEndpoint& ep,
                                                        const ServiceConnectEnv& env) {
  return openService<sieve::Session>(src, ep, env, "ManageSieve");
}

}  // namespace migrate
