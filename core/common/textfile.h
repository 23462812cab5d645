#pragma once
// Small helpers for the project's own text files (state, run status): tab-separated records with
// backslash escaping, strict number parsing, whole-file reads and atomic replacement.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate::textfile {

// Escapes '\\', TAB, LF and CR as \\ \t \n \r so that a value fits one tab-separated field.
std::string escape(const std::string& s);
// The reverse; false for a dangling or unknown escape.
bool unescape(const std::string& s, std::string& out);
std::vector<std::string> splitTabs(const std::string& line);

// Decimal digits only, no sign (I64: optional leading '-'), no overflow.
bool parseU64(const std::string& s, uint64_t& v);
bool parseU32(const std::string& s, uint32_t& v);
bool parseI64(const std::string& s, int64_t& v);

// The project's versioned record files (run status, job, schedule): a first line
// "<magic>\t<version>", then one "key\tvalue" per line, values escaped as above.
struct RecordFormat {
  const char* magic;  // "dovecot-migrate-status"
  uint32_t version;   // the newest this code writes; a higher one is refused
  const char* what;   // "run status": errors read "<what> line N: ..."
  const char* hint;   // what to do about a damaged file
};
// The first line of a record file.
std::string recordHeader(const RecordFormat& format);
// Calls field(key, value) for each line after the first; field returns false for a bad value
// (keys it does not know are a newer minor version's: it ignores them and returns true). Errors
// are Config statuses naming the line.
Status parseRecords(const std::string& text, const RecordFormat& format,
                    const std::function<bool(const std::string& key, const std::string& value)>& field);

// A LocalStorage Status "<what> <path>: <strerror(errno)>" with a hint about the mail home.
Status sysError(const std::string& what, const std::string& path);

// The whole file; nullopt when it does not exist. `maxBytes` bounds what is read (larger: error).
Result<std::optional<std::string>> readFile(const std::string& path, size_t maxBytes = 64u << 20);

// Writes `text` to path.tmp.<pid> (mode `mode`), optionally fsyncs it, and renames it over `path`
// (one temporary name per process: concurrent writers of one file do not disturb each other).
Status writeFileAtomic(const std::string& path, const std::string& text, bool fsync, unsigned mode = 0600);

// Reads and parses the record file at `path`: nullopt when it does not exist; a parse error is
// prefixed with the path.
template <class T>
Result<std::optional<T>> readRecordFile(const std::string& path, size_t maxBytes,
                                        Result<T> (*parse)(const std::string& text)) {
  MIGRATE_ASSIGN_OR_RETURN(std::optional<std::string> text, readFile(path, maxBytes));
  if (!text) {
    return std::optional<T>();
  }
  Result<T> parsed = parse(*text);
  if (!parsed.isOk()) {
    return parsed.status().withPrefix(path);
  }
  return std::optional<T>(std::move(parsed).value());
}

}  // namespace migrate::textfile
