#pragma once
// The source's other services beside IMAP: its POP3 side (for the UIDLs INBOX's copies keep) and
// its ManageSieve side (for the user's Sieve scripts). Where each is (--source-pop3 /
// --source-sieve), and a logged-in connection to it with the IMAP connection's login and TLS
// rules. Calling thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "engine/options.h"
#include "engine/source_connection.h"
#include "pop3/session.h"
#include "sieve/managesieve.h"

namespace migrate {

// A service's server and how the connection to it is encrypted (TlsMode::Imaps: TLS from the
// first byte; StartTls: STLS / STARTTLS before the login; None: plain text, as the IMAP side).
struct ServiceEndpoint {
  std::string host;
  uint16_t port = 0;
  TlsMode tls = TlsMode::Imaps;
  bool automatic = false;        // --source-pop3/--source-sieve auto: the server may not offer it
  std::string describe() const;  // "pop.example.org:995 (imaps)"
};

// POP3: the IMAP host unless one is given; port 995 with TLS when the IMAP side uses imaps, else
// 110 with STLS (plain text when the IMAP side is none). A given port 995 is TLS from the start
// and 110 uses STLS, whatever the IMAP side does (unless it is none); another port follows the
// IMAP side's mode. `src` has its defaults applied.
ServiceEndpoint pop3Endpoint(const SourceOptions& src);
// ManageSieve: the IMAP host unless one is given; port 4190, with STARTTLS unless the IMAP side
// is none (RFC 5804 has no implicit-TLS port).
ServiceEndpoint sieveEndpoint(const SourceOptions& src);

// What a service connection needs from its run.
struct ServiceConnectEnv {
  TransportFactory connect;  // null: TCP (tests pass the in-memory transport of a fake server)
  uint64_t maxBytesPerSecond = 0;
};

// Whether `error` from opening a service in auto mode means "the server does not offer it" (a
// refused or unanswered connection, a host that is not there) rather than a failure to report.
bool serviceAbsent(const Status& error);

// Connects, reads the greeting, does STLS when the endpoint says so and logs in as the IMAP
// connection does (password, master user). OAuth2 logins are not supported for POP3 (Config).
Result<std::unique_ptr<pop3::Session>> openPop3(const SourceOptions& src, const ServiceEndpoint& ep,
                                                const ServiceConnectEnv& env);
// The same for ManageSieve (STARTTLS, AUTHENTICATE PLAIN).
Result<std::unique_ptr<sieve::Session>> openManageSieve(const SourceOptions& src, const ServiceEndpoint& ep,
                                                        const ServiceConnectEnv& env);

}  // namespace migrate
