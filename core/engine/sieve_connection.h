#pragma once
// The ManageSieve connection of a run (engine/sieve_copy.h): to `host:port`, with the IMAP
// side's login (password, master user) and TLS rules: STARTTLS, with the same certificate
// checks, when the IMAP side uses TLS (imaps or starttls); plain when it uses none.

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "engine/options.h"
#include "engine/source_connection.h"
#include "sieve/managesieve.h"

namespace migrate {

// The port ManageSieve listens on (RFC 5804).
inline constexpr uint16_t kManageSievePort = 4190;

// Connected, TLS as the IMAP side has it, logged in. `connect` (tests: a scripted server) gets a
// copy of `src` with host and port set to the ManageSieve side's; null: TCP. An OAuth2 login is
// not offered over ManageSieve: a Config error.
Result<std::unique_ptr<sieve::Session>> openManageSieve(const SourceOptions& src, const std::string& host,
                                                        uint16_t port, const TransportFactory& connect);

}  // namespace migrate
