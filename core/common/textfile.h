#pragma once
// Small helpers for the project's own text files (state, run status): tab-separated records with
// backslash escaping, strict number parsing, whole-file reads and atomic replacement.

#include <cstdint>
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

// A LocalStorage Status "<what> <path>: <strerror(errno)>" with a hint about the mail home.
Status sysError(const std::string& what, const std::string& path);

// The whole file; nullopt when it does not exist. `maxBytes` bounds what is read (larger: error).
Result<std::optional<std::string>> readFile(const std::string& path, size_t maxBytes = 64u << 20);

// Writes `text` to path.tmp.<pid> (mode `mode`), optionally fsyncs it, and renames it over `path`
// (one temporary name per process: concurrent writers of one file do not disturb each other).
Status writeFileAtomic(const std::string& path, const std::string& text, bool fsync, unsigned mode = 0600);

}  // namespace migrate::textfile
