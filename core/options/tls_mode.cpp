#include "options/tls_mode.h"

#include "common/strings.h"

namespace migrate {

Result<TlsMode> parseTlsMode(const std::string& s) {
  const std::string v = lowerAscii(s);
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

}  // namespace migrate
