// libFuzzer target: modified UTF-7 mailbox names (core/imap/mutf7.h).
//
// Input: the bytes of a name, taken both as the wire form (mUTF-7) and as a local name (UTF-8).
// Checks, beyond ASan/UBSan:
//  - a name that decodes gives valid UTF-8 that encodes back to exactly the wire form (the
//    decoder rejects every non-shortest spelling, so each folder has one raw name: it is the state
//    key) and decodes again to the same name;
//  - a name that does not decode fails with a Protocol error;
//  - valid UTF-8 without NUL encodes to printable US-ASCII that decodes back to it; invalid UTF-8
//    (and NUL) is a Config error.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "imap/mutf7.h"

namespace migrate::imap {
namespace {

using fuzz::escaped;

bool printableAscii(const std::string& s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

void wireForm(const std::string& in) {
  Result<std::string> dec = mutf7Decode(in);
  if (!dec.isOk()) {
    FUZZ_CHECK(dec.status().kind() == ErrorKind::Protocol,
               "decode error of kind " + std::string(errorKindName(dec.status().kind())));
    return;
  }
  const std::string& name = dec.value();
  FUZZ_CHECK(isValidUtf8(name),
             "decode(\"" + escaped(in) + "\") is not valid UTF-8: \"" + escaped(name) + "\"");
  Result<std::string> enc = mutf7Encode(name);
  FUZZ_CHECK(enc.isOk(), "decode(\"" + escaped(in) + "\") = \"" + escaped(name) +
                             "\" does not encode: " + enc.status().message());
  FUZZ_CHECK(enc.value() == in, "\"" + escaped(in) + "\" decodes to \"" + escaped(name) +
                                    "\" which encodes to \"" + escaped(enc.value()) +
                                    "\": two wire spellings of one name");
  Result<std::string> again = mutf7Decode(enc.value());
  FUZZ_CHECK(again.isOk() && again.value() == name,
             "encode(decode(\"" + escaped(in) + "\")) does not decode to the same name");
}

void localName(const std::string& in) {
  Result<std::string> enc = mutf7Encode(in);
  if (!isValidUtf8(in) || in.find('\0') != std::string::npos) {
    FUZZ_CHECK(!enc.isOk() && enc.status().kind() == ErrorKind::Config,
               "invalid UTF-8 or NUL \"" + escaped(in) + "\" was not a Config error");
    return;
  }
  FUZZ_CHECK(enc.isOk(), "valid UTF-8 \"" + escaped(in) + "\" does not encode: " + enc.status().message());
  FUZZ_CHECK(printableAscii(enc.value()),
             "encode(\"" + escaped(in) + "\") = \"" + escaped(enc.value()) + "\" is not printable US-ASCII");
  Result<std::string> dec = mutf7Decode(enc.value());
  FUZZ_CHECK(dec.isOk(), "encode(\"" + escaped(in) + "\") = \"" + escaped(enc.value()) +
                             "\" does not decode: " + dec.status().message());
  FUZZ_CHECK(dec.value() == in, "\"" + escaped(in) + "\" -> \"" + escaped(enc.value()) + "\" -> \"" +
                                    escaped(dec.value()) + "\"");
}

}  // namespace
}  // namespace migrate::imap

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  migrate::imap::wireForm(in);
  migrate::imap::localName(in);
  return 0;
}
