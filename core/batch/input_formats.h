#pragma once
// The bulk input formats hosting providers use, parsed and validated as a whole before anything
// runs (`doveadm migrate batch FILE`). Dovecot-free: the userdb check of target users is the
// caller's (doveadm_cmd/), which reports it with the same "line N: ..." form.
//
// Formats (detected from the content unless given):
//   Pairs:     `login password`  (one mailbox a line, whitespace between; the source host comes
//              from --source-host / settings; the local user is the login)
//   Csv:       header line
//              source_server,source_user,source_password,source_port,source_tls,target_user,target_password,create_mailbox
//              then one mailbox a line (RFC 4180 quoting; empty port/tls: defaults). The columns
//              may come in any order; source_port, source_tls, target_password and create_mailbox
//              may be left out. A header separated by `;` (what Excel writes in many European
//              locales) makes `;` the separator of the whole file. create_target_mailbox is
//              another name for create_mailbox. Without a header: a first line of exactly those
//              8 fields in that order (a host, then a port, TLS and yes/no value where they stand).
//              source_tls: a mode (imaps, starttls, none...) or true/false (1/0, yes/no): true is
//              imaps on port 993 (or no port), STARTTLS on any other port; false is plaintext.
//   Semicolon: `local-user;remote-imap-host;remote-user;remote-password` (no header; the
//              password is the rest of the line, so it may contain `;`)
// All: UTF-8 with or without BOM, LF or CRLF, blank lines and lines starting with `#` (after
// leading whitespace) are skipped. Passwords may contain any byte but NUL/CR/LF; Pairs passwords
// may contain spaces (everything after the first run of whitespace, trailing whitespace kept
// except the line end). docs/batch-formats.md lists every rule and every message.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/options.h"

namespace migrate::batch {

enum class Format { Pairs, Csv, Semicolon };

// "pairs"/"lines"/"txt" -> Pairs, "csv" -> Csv, "semicolon"/"ssv" -> Semicolon; else Config error
// listing the accepted names.
Result<Format> parseFormatName(const std::string& name);
const char* formatName(Format format);

struct Entry {
  uint32_t line = 0;      // 1-based line number in the file (for "line N: ..." messages)
  std::string localUser;  // destination (Dovecot) user
  std::string host;       // empty: from --source-host / settings
  std::optional<uint16_t> port;
  std::optional<TlsMode> tlsMode;
  std::string remoteUser;
  std::string password;  // never logged; wiped by the owner when done
  // CSV create_mailbox: "1"/"yes"/"true" -> true, "0"/"no"/"false"/"" -> false. Informational:
  // Dovecot creates the mailbox on first save; a missing userdb user is still an error.
  bool createMailbox = false;
  // CSV target_password was non-empty: accepted and ignored (Dovecot authenticates the
  // destination user itself), reported once as a note.
  bool targetPasswordIgnored = false;
};

struct Problem {
  uint32_t line = 0;    // 0: the file as a whole
  std::string message;  // "line 12: source_port \"99999\" is not a port (1-65535)"
  bool fatal = true;    // false: a warning (the batch may run)
};

struct ParseResult {
  Format format = Format::Pairs;
  char csvSeparator = ',';  // Csv: ',' or ';' (from the header)
  // Empty unless ok(): nothing runs, and no password is kept, until the whole file is valid.
  std::vector<Entry> entries;
  // In line order; any fatal one means: run nothing. At most kMaxProblems, then one summary
  // problem (line 0) counting the rest.
  std::vector<Problem> problems;
  bool ok() const;  // no fatal problem and at least one entry
};

constexpr size_t kMaxProblems = 100;
// A longer line is an error (a binary or wrong file), reported without copying it.
constexpr size_t kMaxLineBytes = 16384;

// Detects the format from the first line that is neither blank nor a comment: its text up to the
// first ',' or ';' is a CSV column name (case-insensitively, spaces and quotes around it ignored),
// or it is a headerless CSV line (see above) -> Csv; its text up to the first space
// or tab contains a `;` -> Semicolon; otherwise Pairs (also for an empty file).
Format detectFormat(const std::string& content);

// Parses the whole content. `forced` overrides detection. Checks per line: field count, empty
// login/password/user, port range, TLS mode name, NUL bytes, invalid UTF-8 in names, duplicate
// (local user, host, remote user) lines (the later one is an error naming the earlier line).
// Never throws; bounded work for any input (fuzzed by tests/fuzz/fuzz_batch).
ParseResult parse(const std::string& content, std::optional<Format> forced = std::nullopt);

// As parse(), but a fatal problem drops only its own line's entry (what `migrate batch --check`
// and `migrate check --input` check: every other line is still checked, and the problems are
// reported as the failed lines' results). A problem of the file as a whole (no mailbox lines, a
// UTF-16 file) or of the CSV header still drops every entry.
ParseResult parseKeepingValid(const std::string& content, std::optional<Format> forced = std::nullopt);

// The entries in `format` (Csv: the full header, ',' separated), such that parse() gives them
// back (line numbers aside). nullopt when an entry cannot be written in that format: Pairs needs
// an empty host, the login as remote and local user, and a password without leading whitespace;
// Csv and Semicolon need a host; Semicolon has no port or TLS column; a user and password that
// read like a header row ("user", "password") cannot be written without one.
std::optional<std::string> serialize(Format format, const std::vector<Entry>& entries);

// Overwrites every password in `entries` (best effort) before they are released.
void wipePasswords(std::vector<Entry>& entries);

}  // namespace migrate::batch
