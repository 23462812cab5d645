// libFuzzer target: the bulk input formats (core/batch/input_formats.h), on whatever file an admin (or a
// spreadsheet, or a wrong export) hands to `doveadm migrate batch`.
//
// Input: the file's bytes. A first byte 0x01, 0x02 or 0x03 (never the start of a text file)
// forces pairs, csv or semicolon for the rest; 0x00 detects on the rest; anything else is the
// file as it is, with detection. Checks, beyond ASan/UBSan:
// - problems: non-empty messages; "line N: " prefix exactly when they name a line, N within the
//   file, in line order; at most kMaxProblems + 1;
// - entries only when no problem is fatal, each with a local user, a remote user, a password
//   without NUL/CR/LF, a port that is not 0, in increasing line order;
// - without a forced format, the detected format is detectFormat()'s;
// - whatever parses and serialize() can write in any of the three formats parses back from that
//   text to the same entries, and serializes to the same text again.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "batch/input_formats.h"
#include "fuzz_util.h"

namespace {

using migrate::fuzz::escaped;
namespace batch = migrate::batch;

std::string describe(const batch::Entry& e) {
  return "line " + std::to_string(e.line) + " local \"" + escaped(e.localUser) + "\" host \"" +
         escaped(e.host) + "\" port " + (e.port ? std::to_string(*e.port) : "-") + " tls " +
         (e.tlsMode ? migrate::tlsModeName(*e.tlsMode) : "-") + " remote \"" + escaped(e.remoteUser) +
         "\" password \"" + escaped(e.password) + "\" create " + (e.createMailbox ? "1" : "0");
}

bool sameEntry(const batch::Entry& a, const batch::Entry& b) {
  return a.localUser == b.localUser && a.host == b.host && a.port == b.port && a.tlsMode == b.tlsMode &&
         a.remoteUser == b.remoteUser && a.password == b.password && a.createMailbox == b.createMailbox;
}

void checkRoundTrip(const batch::ParseResult& first, batch::Format format, const std::string& file) {
  const std::optional<std::string> text = batch::serialize(format, first.entries);
  if (!text) {
    return;
  }
  const std::string where = std::string(" (as ") + batch::formatName(format) + ")\n  file: \"" +
                            escaped(file) + "\"\n  serialized: \"" + escaped(*text) + "\"";
  const batch::ParseResult again = batch::parse(*text, format);
  FUZZ_CHECK(again.ok(),
             "the serialization of a parsed file does not parse: " +
                 (again.problems.empty() ? std::string("no entries") : again.problems[0].message) + where);
  FUZZ_CHECK(again.entries.size() == first.entries.size(),
             "serialize/parse changed the number of entries" + where);
  for (size_t i = 0; i < first.entries.size(); i++) {
    FUZZ_CHECK(sameEntry(again.entries[i], first.entries[i]),
               "serialize/parse changed an entry:\n  before: " + describe(first.entries[i]) +
                   "\n  after: " + describe(again.entries[i]) + where);
  }
  const std::optional<std::string> textAgain = batch::serialize(format, again.entries);
  FUZZ_CHECK(textAgain && *textAgain == *text, "serialize(parse(serialize(x))) differs" + where);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string file(reinterpret_cast<const char*>(data), size);
  std::optional<batch::Format> forced;
  bool detect = true;
  if (!file.empty() && static_cast<unsigned char>(file[0]) <= 3) {
    const auto control = static_cast<unsigned char>(file[0]);
    file.erase(0, 1);
    if (control != 0) {
      forced = control == 1   ? batch::Format::Pairs
               : control == 2 ? batch::Format::Csv
                              : batch::Format::Semicolon;
      detect = false;
    }
  }
  const batch::ParseResult r = batch::parse(file, forced);

  size_t lines = 0;
  for (const char c : file) {
    lines += c == '\n' ? 1 : 0;
  }
  lines++;
  FUZZ_CHECK(r.problems.size() <= batch::kMaxProblems + 1,
             "too many problems: " + std::to_string(r.problems.size()));
  bool fatal = false;
  uint32_t lastLine = 0;
  for (const batch::Problem& p : r.problems) {
    fatal = fatal || p.fatal;
    FUZZ_CHECK(!p.message.empty(), "a problem without a message");
    if (p.line == 0) {
      FUZZ_CHECK(p.message.rfind("line ", 0) != 0, "a file-level problem reads like a line's: " + p.message);
      continue;
    }
    const std::string prefix = "line " + std::to_string(p.line) + ": ";
    FUZZ_CHECK(p.message.rfind(prefix, 0) == 0,
               "problem of line " + std::to_string(p.line) + " without its prefix: " + escaped(p.message));
    FUZZ_CHECK(p.line <= lines, "problem names line " + std::to_string(p.line) + " of a file of " +
                                    std::to_string(lines) + " lines");
    FUZZ_CHECK(p.line >= lastLine, "problems out of line order at " + escaped(p.message));
    lastLine = p.line;
  }
  FUZZ_CHECK(r.ok() == (!fatal && !r.entries.empty()), "ok() disagrees with the problems");
  FUZZ_CHECK(!fatal || r.entries.empty(), "entries kept although the file has a fatal problem");
  uint32_t lastEntry = 0;
  for (const batch::Entry& e : r.entries) {
    FUZZ_CHECK(e.line > lastEntry && e.line <= lines, "entry line out of order: " + describe(e));
    lastEntry = e.line;
    FUZZ_CHECK(!e.localUser.empty() && !e.remoteUser.empty() && !e.password.empty(),
               "an entry with an empty field: " + describe(e));
    FUZZ_CHECK(e.password.find_first_of(std::string("\r\n\0", 3)) == std::string::npos,
               "a password with NUL/CR/LF: " + describe(e));
    FUZZ_CHECK(!e.port || *e.port != 0, "port 0: " + describe(e));
    FUZZ_CHECK(r.format == batch::Format::Csv || (!e.port && !e.tlsMode && !e.createMailbox),
               "a CSV-only field outside CSV: " + describe(e));
    FUZZ_CHECK(r.format != batch::Format::Pairs || (e.host.empty() && e.remoteUser == e.localUser),
               "a pairs entry with a host or another remote user: " + describe(e));
  }
  if (detect) {
    FUZZ_CHECK(batch::detectFormat(file) == r.format, "parse() and detectFormat() disagree");
  } else {
    FUZZ_CHECK(r.format == *forced, "the forced format was not used");
  }
  if (r.ok()) {
    for (const batch::Format f : {batch::Format::Pairs, batch::Format::Csv, batch::Format::Semicolon}) {
      checkRoundTrip(r, f, file);
    }
  }
  return 0;
}
