#pragma once
// How the connection to the source is encrypted: the value of --source-tls,
// migrate_source_tls, a preset's tls and a batch line's TLS column.

#include <string>

#include "common/status.h"

namespace migrate {

enum class TlsMode { Imaps, StartTls, None };

// Parses "imaps" / "ssl" / "tls" / "implicit" -> Imaps, "starttls" -> StartTls, "none" /
// "plain" / "no" -> None, in any case. Unknown: Config error listing the accepted values.
Result<TlsMode> parseTlsMode(const std::string& s);
// "imaps", "starttls" or "none".
const char* tlsModeName(TlsMode mode);

}  // namespace migrate
