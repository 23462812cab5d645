#pragma once
// Parsed IMAP server responses (RFC 3501 / 9051 syntax), produced by ResponseParser.

#include <cstdint>
#include <string>
#include <vector>

namespace migrate::imap {

// One value of a response: the parser does not interpret meaning, only syntax.
struct Value {
  enum class Type {
    Atom,      // atoms and numbers as text: 123, \Seen, $Forwarded, BODY[], BODY[HEADER.FIELDS (X)]<0>
    String,    // quoted string (unescaped) or a literal held in memory
    Nil,       // unquoted NIL
    List,      // parenthesised list
    Streamed,  // a literal whose bytes went to a LiteralSink; `size` tells how many
  };
  Type type = Type::Atom;
  // Atom: as sent (case kept; compare with isAtom). String: unescaped bytes. Nil: "".
  std::string text;
  std::vector<Value> list;  // List
  uint64_t size = 0;        // Streamed: literal size; String from literal: its size (0 if quoted)

  bool isAtom(const char* upper) const;  // case-insensitive atom comparison
  bool isNumber() const;
  uint64_t number() const;  // 0 if not a number
  // Atom or String or Nil ("") as text: for astring/nstring positions.
  const std::string& str() const { return text; }
};

struct Response {
  enum class Kind {
    Tagged,        // "A12 OK ...": tag set; status is OK/NO/BAD
    Untagged,      // "* ...": status is OK/NO/BAD/BYE/PREAUTH for status responses, or the data
                   // name upper-cased: CAPABILITY, LIST, LSUB, STATUS, FLAGS, SEARCH, NAMESPACE,
                   // ENABLED, ID, ...; for "* 12 FETCH/EXISTS/EXPUNGE/RECENT" `number` is 12 and
                   // status is FETCH/EXISTS/EXPUNGE/RECENT.
    Continuation,  // "+ text"
  };
  Kind kind = Kind::Untagged;
  std::string tag;      // as sent by the server (Tagged only)
  std::string status;   // upper-cased; see Kind
  uint32_t number = 0;  // message sequence number for FETCH/EXPUNGE, count for EXISTS/RECENT
  bool hasNumber = false;
  // For status responses (OK/NO/BAD/BYE/PREAUTH, tagged or not): the response code, if any.
  // "[UIDVALIDITY 3857529045]" -> code "UIDVALIDITY", codeArgs "3857529045";
  // "[CAPABILITY IMAP4rev1 X]" -> code "CAPABILITY", codeArgs "IMAP4rev1 X" (raw text inside []).
  std::string code;      // upper-cased
  std::string codeArgs;  // raw
  std::string text;      // human-readable text after the code (status responses, continuation)
  // For data responses: the values after the name. "* LIST (\Noselect) "/" foo" -> [List, String, Atom];
  // "* 12 FETCH (UID 5 BODY[] {3}..)" -> one List value; "* CAPABILITY A B" -> [Atom A, Atom B].
  std::vector<Value> args;
};

}  // namespace migrate::imap
