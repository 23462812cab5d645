#pragma once
// Incremental, sans-I/O IMAP response parser. feed() takes bytes as they arrive, in any split,
// and emits complete responses. Literals of any size are supported: the LiteralHandler may claim a
// literal (e.g. a FETCH BODY[]) and receive its bytes in chunks as they arrive, so a 25 MB message
// is never held twice in memory; unclaimed literals are kept in memory up to
// Limits::maxInMemoryLiteral.
//
// Errors (ErrorKind::Protocol, message naming what was wrong and quoting a short sanitized excerpt
// of the input, e.g. `IMAP response line longer than 1048576 bytes at "* 1 FETCH (BODY[] ..."`) are
// final: after one, the parser must not be fed again (the session drops the connection; feeding
// anyway returns the same error). An error returned by a LiteralSink is passed through unchanged.
//
// Lines end with CRLF; a bare LF is accepted too. Any split of the input gives the same responses.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "imap/response.h"

namespace migrate::imap {

struct ParserLimits {
  size_t maxLineLength = 1 << 20;        // bytes of one response outside literals
  size_t maxNesting = 64;                // parenthesis depth
  uint64_t maxLiteralSize = 4ULL << 30;  // any literal, streamed or not
  size_t maxInMemoryLiteral = 1 << 20;   // literals not claimed by the LiteralHandler
  size_t maxInMemoryTotal = 16 << 20;    // all unclaimed literals of one response together
  size_t maxValues = 200000;             // total values in one response
};

// Receives the bytes of one claimed literal. Called in order; finish() after the last byte (also
// for an empty literal). `data` points into the buffer given to feed(): copy what you keep. If the
// parser is destroyed or fails mid-literal, finish() is not called.
class LiteralSink {
 public:
  virtual ~LiteralSink() = default;
  virtual Status append(const char* data, size_t len) = 0;
  virtual Status finish() = 0;
};

// Where the literal appears: inside an untagged FETCH list, right after item `itemName`
// (upper-cased, e.g. "BODY[]", "BODY[HEADER]", "RFC822"), message number `fetchNumber` (set for
// any literal of an untagged FETCH). Valid only during the LiteralHandler call.
struct LiteralContext {
  const Response* partial = nullptr;  // the response parsed so far (kind/status/number valid)
  std::string itemName;               // empty when not directly after a FETCH item name
  uint32_t fetchNumber = 0;
  uint64_t size = 0;
};

class ResponseParser {
 public:
  // Returns a sink to stream the literal to, or nullptr to keep it in memory as a String value.
  // A sink that returns an error from append/finish makes feed() return that error.
  using LiteralHandler = std::function<LiteralSink*(const LiteralContext&)>;

  explicit ResponseParser(ParserLimits limits = {}, LiteralHandler handler = nullptr);
  ~ResponseParser();
  ResponseParser(ResponseParser&&) noexcept;
  ResponseParser& operator=(ResponseParser&&) noexcept;

  // Parses as much as possible; every complete response is appended to `out`.
  // Returns a Protocol error for malformed input or exceeded limits.
  Status feed(const char* data, size_t len, std::vector<Response>& out);

  // True when no partial response is buffered (e.g. to check an idle connection). False after an
  // error.
  bool idle() const;

  // Bytes of the current partial response kept in memory (tests assert memory stays bounded).
  size_t bufferedBytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace migrate::imap
