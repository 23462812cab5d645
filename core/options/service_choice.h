#pragma once
// Where the source's other services are: the value of --source-pop3 / migrate_source_pop3 and
// --source-sieve / migrate_source_sieve. "auto" tries the IMAP host on the service's usual port
// and treats a host that does not answer there as one without the service; "no" never connects;
// "HOST", "HOST:PORT" or "[IPv6]:PORT" names the server (port 0: the usual one). The TLS rules
// are the IMAP connection's (engine/service_endpoint.h).

#include <cstdint>
#include <string>

#include "common/status.h"

namespace migrate {

struct ServiceChoice {
  enum class Mode { Auto, No, Host };
  Mode mode = Mode::Auto;
  std::string host;   // Mode::Host
  uint16_t port = 0;  // Mode::Host; 0: the service's usual port
  bool operator==(const ServiceChoice& o) const { return mode == o.mode && host == o.host && port == o.port; }
};

// Parses `value` (any case for auto/no; yes means auto). `name` is the option or setting as the
// admin wrote it, for the message: "invalid --source-pop3 'pop:99999'" with what is accepted.
Result<ServiceChoice> parseServiceChoice(const std::string& value, const std::string& name);

// "auto", "no" or "host:port" ("host" when the port is the usual one).
std::string describeServiceChoice(const ServiceChoice& choice);

}  // namespace migrate
