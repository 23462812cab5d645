#pragma once
// Modified UTF-7 (RFC 3501 5.1.3) for mailbox names.

#include <string>

#include "common/status.h"

namespace migrate::imap {

// mUTF-7 -> UTF-8. Malformed input ("&" not closed, bad base64, non-shortest forms, unpaired
// surrogates, "&" encoding printable ASCII) is a Protocol error naming the name.
Result<std::string> mutf7Decode(const std::string& in);
// UTF-8 -> mUTF-7. Invalid UTF-8 is a Config error.
Result<std::string> mutf7Encode(const std::string& in);
// True if the bytes are valid UTF-8.
bool isValidUtf8(const std::string& s);

}  // namespace migrate::imap
