#pragma once
// NUL bytes and the IMAP BINARY extension (RFC 3516).
//
// An IMAP literal cannot carry a NUL byte. Dovecot's BODY[] sends 0x80 in place of each NUL
// (lib-imap-storage/imap-msgpart.c, imap_msgpart_get_partial(): i_stream_create_nonuls(input,
// 0x80) unless the mail is known to have no NULs), so a message with a NUL would be stored with
// 0x80 in its place. BINARY[] sends the NULs in a literal8 ("~{N}"), but it also decodes every
// quoted-printable and base64 part and rewrites that part's Content-Transfer-Encoding header
// (lib-storage/index/index-mail-binary.c, add_binary_part()); 7bit, 8bit and binary parts and
// all headers of such a message go out unchanged.
//
// So BINARY[] is used only for a message whose BODY[] has a 0x80 byte that may be a NUL (not
// inside a UTF-8 character) and whose bytes name no
// encoding Dovecot would decode, and its answer is used only when it is provably the same
// message: as long as the BODY[] and, with each NUL turned into 0x80, the same bytes (same size,
// same SHA-256). These helpers do the scanning and the proof; the engine does the fetching.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "mail/message.h"

namespace migrate {

// Finds header lines "Content-Transfer-Encoding: X" (any case, folded or not, blanks before the
// colon allowed) anywhere in a message, fed in chunks of any split. `encoded()` is true when one
// names anything but 7bit, 8bit or binary (base64, quoted-printable, unknown values, comments),
// or when such a line is too long to judge. Lines in bodies count too: that only makes the
// scanner more careful, never wrong.
class CteScanner {
 public:
  void feed(const char* data, size_t len);
  void finish();  // after the last chunk
  bool encoded() const { return encoded_; }

 private:
  void endLine();
  void endHeader();

  static constexpr size_t kMaxLine = 1024;
  std::string line_;  // the current line, up to kMaxLine bytes
  bool lineTooLong_ = false;
  bool inCte_ = false;  // collecting a Content-Transfer-Encoding value (may continue)
  std::string value_;
  bool encoded_ = false;
};

// Finds a 0x80 byte that may stand for a NUL: one that is not a continuation byte of a complete,
// well-formed UTF-8 character (fed in chunks of any split). The 0x80 in "\xe2\x80\x93" (an en
// dash) or "\xd1\x80" (Cyrillic er) is taken as itself, so that UTF-8 text in 8bit, where 0x80
// is common, is not fetched twice; a NUL right after the lead byte of a UTF-8 character (an
// invalid sequence in the original) is the one case this misses.
class Stray0x80Scanner {
 public:
  void feed(const char* data, size_t len);
  void finish();  // after the last chunk: an unfinished character with a 0x80 counts
  bool found() const { return found_; }

 private:
  void startByte(unsigned char b);

  int remaining_ = 0;                    // continuation bytes still due in the current character
  unsigned char lo_ = 0x80, hi_ = 0xBF;  // the range of the next continuation byte
  bool pending0x80_ = false;             // the current character has a 0x80 so far
  bool found_ = false;
};

// What BODY[] showed of a message with a 0x80 byte.
struct NulCandidate {
  uint64_t size = 0;        // BODY[] size
  std::string digest;       // SHA-256 of the BODY[] bytes (raw, 32 bytes)
  bool mayHoldNul = false;  // Stray0x80Scanner::found()
  bool encoded = false;     // CteScanner::encoded(): BINARY[] would decode a part
  // Worth a BINARY[] fetch: it may give NULs, and nothing but what BODY[] gives otherwise.
  bool wantBinary() const { return mayHoldNul && !encoded; }
};

// Reads the whole body once (a spooled body in chunks).
Result<NulCandidate> scanNulCandidate(const MessageBody& body);

// How BINARY[] compares with the BODY[] described by `candidate`.
enum class BinaryMatch {
  Different,  // not the same message: keep BODY[]
  Same,       // identical to BODY[], no NUL in it
  WithNuls,   // BODY[] with NULs where BODY[] had 0x80: the exact message
};
Result<BinaryMatch> compareBinary(const MessageBody& binary, const NulCandidate& candidate);

}  // namespace migrate
