// libFuzzer target: the state file parser (core/engine/state.h), on a damaged or hand-edited file.
//
// Input: the file's bytes. Checks, beyond ASan/UBSan: a file that parses serializes to a file
// that parses again to the same serialization (nothing read is lost or changed on the next save).

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/state.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using migrate::fuzz::escaped;
  const std::string text(reinterpret_cast<const char*>(data), size);
  migrate::Result<migrate::AccountState> parsed = migrate::parseState(text);
  if (!parsed.isOk()) {
    FUZZ_CHECK(!parsed.status().message().empty(), "parse error without a message");
    return 0;
  }
  const std::string saved = migrate::serializeState(parsed.value());
  migrate::Result<migrate::AccountState> reread = migrate::parseState(saved);
  FUZZ_CHECK(reread.isOk(),
             "the serialization of a parsed file does not parse: " + reread.status().message() +
                 "\n  file: \"" + escaped(text) + "\"\n  saved: \"" + escaped(saved) + "\"");
  const std::string savedAgain = migrate::serializeState(reread.value());
  FUZZ_CHECK(savedAgain == saved, "parse(serialize(x)) changed the state:\n  saved: \"" + escaped(saved) +
                                      "\"\n  again: \"" + escaped(savedAgain) + "\"");
  return 0;
}
