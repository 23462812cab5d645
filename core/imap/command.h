#pragma once
// IMAP command encoding: quoting of astrings, literals for strings that cannot be quoted,
// mUTF-7 mailbox names, sequence sets.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace migrate::imap {

// Encodes s as an IMAP astring: atom if possible, else quoted, else (CR, LF, NUL, 8-bit) a literal
// "{N}\r\n<bytes>". `nonSyncLiteral` uses LITERAL+ form "{N+}". When a synchronizing literal is
// needed the caller must wait for "+" before sending the bytes: see `needsContinuation`.
// Atoms use only RFC 3501 ATOM-CHARs (no "]" either); "" and "NIL" (any case) are quoted. Quoted
// form for 7-bit text without CR/LF/NUL, with " and \ escaped.
std::string quoteAstring(const std::string& s, bool nonSyncLiteral);
// Always a quoted string or literal (never an atom): for passwords and mailbox names.
std::string quoteString(const std::string& s, bool nonSyncLiteral);

// True if `encoded` (a result of quoteAstring/quoteString) is a synchronizing literal
// "{N}\r\n<bytes>": send the command up to and including "{N}\r\n", wait for the server's "+",
// then send the bytes and the rest of the command.
bool needsContinuation(const std::string& encoded);
// For a whole command line built from atoms and this file's encodings: the offsets just after each
// synchronizing literal header "{N}\r\n". Send the line up to each offset, wait for the server's
// "+", go on. Literal bytes are skipped, so a CRLF inside a literal (or "{3}" in a quoted string)
// never counts as a cut. Empty when no continuation is needed.
std::vector<size_t> syncLiteralCuts(const std::string& line);

// "first:last", "first" if equal, "first:*" if last==0. Written as given (IMAP reads "9:5" as 5:9).
std::string uidSet(uint32_t first, uint32_t last);
// "1:5,7,9" from UIDs in any order; duplicates are dropped; "" for none.
std::string compressUidSet(std::vector<uint32_t> uids);

}  // namespace migrate::imap
