#include "engine/sieve_connection.h"

#include <utility>

#include "net/transport.h"

namespace migrate {

Result<std::unique_ptr<sieve::Session>> openManageSieve(const SourceOptions& src, const std::string& host,
                                                        uint16_t port, const TransportFactory& connect) {
  if (!src.oauth2TokenFile.empty() || !src.oauth2TokenCommand.empty()) {
    return Status(ErrorKind::Config, "the Sieve scripts need a password login: this run logs in with OAuth2",
                  "give --source-sieve no, or copy the scripts by hand");
  }
  SourceOptions side = src;
  side.host = host;
  side.port = port;
  const std::string peer = host + ":" + std::to_string(port);
  Result<std::unique_ptr<net::Transport>> t =
      connect ? connect(side) : net::connectTcp(net::Endpoint{host, port}, false, src.tls, src.timeouts);
  if (!t.isOk()) {
    return t.status();
  }
  auto session =
      std::make_unique<sieve::Session>(std::move(t).value(), sieve::SessionOptions{peer, src.timeouts.ioMs});
  MIGRATE_RETURN_IF_ERROR(session->readGreeting());
  if (src.tlsMode != TlsMode::None) {
    MIGRATE_RETURN_IF_ERROR(session->startTls(src.tls));
  }
  MIGRATE_RETURN_IF_ERROR(session->login(src.user, src.password, src.masterUser));
  return session;
}

}  // namespace migrate
