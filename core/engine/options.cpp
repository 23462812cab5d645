#include "engine/options.h"

namespace migrate {

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
