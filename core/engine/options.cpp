#include "engine/options.h"

#include <algorithm>
#include <cctype>

namespace migrate {

Result<TlsMode> parseTlsMode(const std::string& s) {
  std::string v = s;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "imaps" || v == "ssl" || v == "tls" || v == "implicit") {
    return TlsMode::Imaps;
  }
  if (v == "starttls") {
    return TlsMode::StartTls;
  }
  if (v == "none" || v == "plain" || v == "no") {
    return TlsMode::None;
  }
  return Status(ErrorKind::Config, "unknown TLS mode '" + s + "'",
                "use imaps (implicit TLS, port 993), starttls (port 143) or none (plaintext)");
}

const char* tlsModeName(TlsMode mode) {
  switch (mode) {
    case TlsMode::Imaps:
      return "imaps";
    case TlsMode::StartTls:
      return "starttls";
    case TlsMode::None:
      return "none";
  }
  return "imaps";
}

void SourceOptions::applyDefaults() {
  if (!tlsModeSet) {
    tlsMode = (port == 0 || port == 993) ? TlsMode::Imaps : TlsMode::StartTls;
    tlsModeSet = true;
  }
  if (port == 0) {
    port = tlsMode == TlsMode::Imaps ? 993 : 143;
  }
}

std::string SourceOptions::describe() const {
  std::string s = user + " at " + host + ":" + std::to_string(port) + " (" + tlsModeName(tlsMode) + ")";
  if (!masterUser.empty()) {
    s += " as master user " + masterUser;
  }
  return s;
}

}  // namespace migrate
