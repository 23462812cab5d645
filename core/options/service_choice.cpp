#include "options/service_choice.h"

#include "common/strings.h"
#include "options/option_values.h"

namespace migrate {

namespace {

Status badChoice(const std::string& name, const std::string& value, const std::string& why) {
  return Status(
      ErrorKind::Config, "invalid " + name + " '" + value + "': " + why,
      "use auto (the IMAP host, usual port), no, HOST or HOST:PORT (an IPv6 address as [ADDR]:PORT)");
}

bool validHost(const std::string& host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_' || c == ':';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<ServiceChoice> parseServiceChoice(const std::string& value, const std::string& name) {
  const std::string lower = lowerAscii(value);
  ServiceChoice choice;
  if (lower == "auto" || lower == "yes" || lower.empty()) {
    return choice;
  }
  if (lower == "no" || lower == "none" || lower == "off") {
    choice.mode = ServiceChoice::Mode::No;
    return choice;
  }
  choice.mode = ServiceChoice::Mode::Host;
  std::string host = value;
  std::string port;
  if (value[0] == '[') {
    const size_t close = value.find(']');
    if (close == std::string::npos || (close + 1 < value.size() && value[close + 1] != ':')) {
      return badChoice(name, value, "an IPv6 address goes in brackets: [ADDR] or [ADDR]:PORT");
    }
    host = value.substr(1, close - 1);
    port = close + 1 < value.size() ? value.substr(close + 2) : std::string();
  } else if (value.find(':') != value.rfind(':')) {
    // A bare IPv6 address: no port.
  } else if (const size_t colon = value.find(':'); colon != std::string::npos) {
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
  }
  if (!validHost(host)) {
    return badChoice(name, value, "'" + host + "' is not a host name or address");
  }
  if (!port.empty() || value.back() == ':') {
    const std::optional<uint16_t> p = options::parsePort(port);
    if (!p) {
      return badChoice(name, value, "'" + port + "' is not a port from 1 to 65535");
    }
    choice.port = *p;
  }
  choice.host = host;
  return choice;
}

std::string describeServiceChoice(const ServiceChoice& choice) {
  switch (choice.mode) {
    case ServiceChoice::Mode::Auto:
      return "auto";
    case ServiceChoice::Mode::No:
      return "no";
    case ServiceChoice::Mode::Host:
      break;
  }
  const std::string host = choice.host.find(':') != std::string::npos ? "[" + choice.host + "]" : choice.host;
  return choice.port == 0 ? host : host + ":" + std::to_string(choice.port);
}

}  // namespace migrate
