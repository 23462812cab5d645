#pragma once
// Which INBOX message at the old server's IMAP side is which message of its POP3 side, so that
// each copy can keep its POP3 UIDL and order (docs/dev/pop3-uidl-research.md). Pure functions:
// the session code fetches the lists and headers.
//
// 1. From the start, POP3 message i and IMAP message i (by UID) pair while their sizes agree and
//    the size tells neighbours apart (pop3 i and i+1 differ): the common case of a server whose
//    POP3 and IMAP sides list the same messages in the same order.
// 2. The rest pair by a digest of the normalized header (POP3 `TOP n 0`, IMAP
//    `BODY.PEEK[HEADER]`), robust to what servers change between their two sides: headers they
//    add or drop (Status, X-UIDL, X-Keywords, Return-Path, ...; see kIgnoredHeaders), whitespace,
//    CRs, and 8-bit or control bytes (each run becomes one '?'). Equal digests pair in order
//    (POP3 number against UID), so exact duplicates keep their order.
// 3. Nothing is guessed: what pairs with nothing is counted and named.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace migrate {

// SHA-256 (hex) of the normalized header of a message (the text up to the first empty line).
std::string headerDigest(std::string_view header);

// Whether a POP3 unique-id can be kept (RFC 1939: 1-70 characters in 0x21-0x7E).
bool usableUidl(std::string_view uidl);

struct Pop3Side {
  uint32_t number = 0;  // POP3 message number (the order the POP3 server gives)
  uint64_t size = 0;
  std::string uidl;
  std::string digest;  // headerDigest(); "" when not fetched
};

struct ImapSide {
  uint32_t uid = 0;
  uint64_t size = 0;
  std::string digest;  // headerDigest(); "" when not fetched
};

struct Pop3Assignment {
  std::string uidl;
  uint32_t order = 0;  // the POP3 message number
};

struct Pop3Match {
  std::map<uint32_t, Pop3Assignment> byUid;  // IMAP UID -> what its copy keeps
  std::vector<std::string> pop3Only;         // UIDLs with no IMAP message
  std::vector<uint32_t> imapOnly;            // UIDs with no POP3 message (they get new UIDLs)
  std::vector<std::string> unusable;         // UIDLs that cannot be kept (usableUidl(), repeated)
};

// Step 1: how many messages from the start pair by size alone; digests are needed only after.
size_t pairedBySize(const std::vector<Pop3Side>& pop3, const std::vector<ImapSide>& imap);

// Steps 1-3. `pop3` in message-number order, `imap` in UID order; digests must be set from
// pairedBySize() on.
Pop3Match matchPop3(const std::vector<Pop3Side>& pop3, const std::vector<ImapSide>& imap);

}  // namespace migrate
