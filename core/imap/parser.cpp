#include "imap/parser.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace migrate::imap {

namespace {

constexpr const char* kProtocolHint =
    "the source IMAP server sent a response that does not follow RFC 3501; if it repeats, report it "
    "with the server's name and version";
constexpr const char* kLimitHint =
    "the response exceeds a safety limit of this tool; the source server may be misbehaving";

constexpr size_t kExcerptChars = 60;
constexpr size_t kExcerptLead = 20;  // bytes shown before the offending position

char asciiUpper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string upperCopy(const char* p, size_t n) {
  std::string s(p, n);
  for (char& c : s) {
    c = asciiUpper(c);
  }
  return s;
}

bool isCtl(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

// Bytes that end an atom in a data response. 8-bit bytes are accepted in atoms (unquoted mailbox
// names in raw UTF-8 from servers that ignore mUTF-7); '[' is handled by the caller.
bool endsAtom(unsigned char c) {
  return c <= 0x20 || c == 0x7f || c == '(' || c == ')' || c == '"';
}

// RFC 3501 tag: 1*<any ASTRING-CHAR except "+">.
bool isTagChar(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) {
    return false;
  }
  switch (c) {
    case '(':
    case ')':
    case '{':
    case '%':
    case '*':
    case '"':
    case '\\':
    case '+':
      return false;
    default:
      return true;
  }
}

// Response names (CAPABILITY, FETCH, X-GM-...) are atoms.
bool isNameChar(unsigned char c) {
  return !endsAtom(c) && c < 0x80 && c != '[' && c != ']' && c != '{';
}

// A short, printable excerpt of p[0..n) around `at`, for error messages: an admin reads it in a log.
std::string excerpt(const char* p, size_t n, size_t at) {
  size_t start = at > kExcerptLead ? at - kExcerptLead : 0;
  start = std::min(start, n);
  std::string out;
  if (start > 0) {
    out = "...";
  }
  static const char kHex[] = "0123456789abcdef";
  size_t i = start;
  for (; i < n && out.size() < kExcerptChars; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (i < n) {
    out += "...";
  }
  return out;
}

Status protocolError(const std::string& what, const char* p, size_t n, size_t at) {
  return Status(ErrorKind::Protocol, what + " at \"" + excerpt(p, n, at) + "\"", kProtocolHint);
}

Status limitError(const std::string& what, const char* p, size_t n, size_t at) {
  return Status(ErrorKind::Protocol, what + " at \"" + excerpt(p, n, at) + "\"", kLimitHint);
}

}  // namespace

struct ResponseParser::Impl {
  Impl(ParserLimits l, LiteralHandler h) : limits(l), handler(std::move(h)) {}

  ParserLimits limits;
  LiteralHandler handler;

  bool failed = false;
  Status error;

  // Framing. A response is a sequence of segments, each ending in LF: the first holds the tag and
  // name, later ones follow a literal. `line` holds the bytes of an incomplete segment only.
  std::string line;
  bool inResponse = false;  // a segment ending in a literal was parsed; more segments follow
  uint64_t lineBytes = 0;   // completed segments of the current response, for maxLineLength
  uint64_t memLiteralBytes = 0;

  bool inLiteral = false;
  uint64_t literalRemaining = 0;
  LiteralSink* sink = nullptr;
  Value* literalValue = nullptr;  // in-memory literal being filled; stable until it completes

  Response cur;
  // Open containers: stack[0] is &cur.args, then the `list` of each open parenthesised list. Only
  // the innermost vector grows, so the outer pointers stay valid.
  std::vector<std::vector<Value>*> stack;
  size_t valueCount = 0;
  bool needSeparator = false;  // after a string or literal: SP, ')' or end of line must follow
  // Within the current segment, no "]" follows this position: later "[" need not search again
  // (keeps a line of many "[" linear).
  size_t noBracketFrom = SIZE_MAX;

  Status feed(const char* data, size_t len, std::vector<Response>& out);
  size_t lineCap() const;
  void appendToLine(const char* p, size_t n);
  Status checkPartialLine();
  Status processSegment(const char* p, size_t n, std::vector<Response>& out);
  Status parseStart(const char* p, size_t n, bool& complete);
  void parseRespText(const char* p, size_t n, size_t pos);
  Status parseValues(const char* p, size_t n, size_t pos, bool& complete);
  Status parseQuoted(const char* p, size_t n, size_t& pos);
  Status parseAtom(const char* p, size_t n, size_t& pos);
  Status parseLiteral(const char* p, size_t n, size_t& pos);
  Status pushValue(Value v, const char* p, size_t n, size_t at);
  Status finishLiteral();
  void reset();
};

void ResponseParser::Impl::reset() {
  cur = Response();
  stack.clear();
  valueCount = 0;
  needSeparator = false;
  inResponse = false;
  lineBytes = 0;
  memLiteralBytes = 0;
  literalValue = nullptr;
}

Status ResponseParser::Impl::feed(const char* data, size_t len, std::vector<Response>& out) {
  size_t pos = 0;
  while (pos < len) {
    if (inLiteral) {
      // Straight from the caller's buffer to the sink or the value: no per-byte work.
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(literalRemaining, len - pos));
      if (sink != nullptr) {
        MIGRATE_RETURN_IF_ERROR(sink->append(data + pos, chunk));
      } else {
        literalValue->text.append(data + pos, chunk);
      }
      pos += chunk;
      literalRemaining -= chunk;
      if (literalRemaining == 0) {
        MIGRATE_RETURN_IF_ERROR(finishLiteral());
      }
      continue;
    }
    const auto* lf = static_cast<const char*>(std::memchr(data + pos, '\n', len - pos));
    if (lf == nullptr) {
      appendToLine(data + pos, len - pos);
      return checkPartialLine();
    }
    const auto n = static_cast<size_t>(lf - (data + pos));
    const char* seg = data + pos;
    size_t segLen = n;
    if (!line.empty()) {
      if (line.size() + n > lineCap()) {
        // Certainly too long (lineCap() > maxLineLength + 1): fails like an incomplete line.
        appendToLine(data + pos, n);
        return checkPartialLine();
      }
      line.append(data + pos, n);
      seg = line.data();
      segLen = line.size();
    }
    pos += n + 1;
    // CRLF per RFC 3501; a bare LF is accepted as well because some servers (old Exchange
    // gateways, hand-written proxies) end lines with LF only.
    if (segLen > 0 && seg[segLen - 1] == '\r') {
      --segLen;
    }
    Status st = processSegment(seg, segLen, out);
    line.clear();
    if (!st.isOk()) {
      return st;
    }
  }
  return Status::ok();
}

// `line` never holds more than this: enough to know the line is too long and to quote the same
// excerpt as a complete line would give.
size_t ResponseParser::Impl::lineCap() const {
  return std::max<size_t>(limits.maxLineLength + 2, kExcerptChars + 4);
}

void ResponseParser::Impl::appendToLine(const char* p, size_t n) {
  line.append(p, std::min(n, lineCap() - line.size()));
}

// An incomplete segment is checked only for its length, so that every split of the input finds
// the same first error. The error waits until the excerpt it quotes is the one the complete line
// would give (more than kExcerptChars bytes, or the whole line).
Status ResponseParser::Impl::checkPartialLine() {
  size_t content = line.size();
  if (content > 0 && line.back() == '\r') {
    --content;  // may be the CR of the CRLF still to come
  }
  if (lineBytes + content > limits.maxLineLength && content > kExcerptChars) {
    return limitError("IMAP response line longer than " + std::to_string(limits.maxLineLength) + " bytes",
                      line.data(), content, 0);
  }
  return Status::ok();
}

Status ResponseParser::Impl::processSegment(const char* p, size_t n, std::vector<Response>& out) {
  if (lineBytes + n > limits.maxLineLength) {
    return limitError("IMAP response line longer than " + std::to_string(limits.maxLineLength) + " bytes", p,
                      n, 0);
  }
  if (const void* nul = std::memchr(p, '\0', n); nul != nullptr) {
    return protocolError("NUL byte outside a literal", p, n,
                         static_cast<size_t>(static_cast<const char*>(nul) - p));
  }
  if (const void* cr = std::memchr(p, '\r', n); cr != nullptr) {
    return protocolError("CR without LF inside a response line", p, n,
                         static_cast<size_t>(static_cast<const char*>(cr) - p));
  }
  bool complete = false;
  noBracketFrom = SIZE_MAX;
  MIGRATE_RETURN_IF_ERROR(inResponse ? parseValues(p, n, 0, complete) : parseStart(p, n, complete));
  if (!complete) {
    inResponse = true;
    lineBytes += n;
    return Status::ok();
  }
  out.push_back(std::move(cur));
  reset();
  if (line.capacity() > (64u << 10)) {
    std::string().swap(line);  // do not keep a huge buffer after one long line
  }
  return Status::ok();
}

Status ResponseParser::Impl::parseStart(const char* p, size_t n, bool& complete) {
  if (n == 0) {
    return protocolError("empty response line", p, n, 0);
  }
  if (p[0] == '+') {
    cur.kind = Response::Kind::Continuation;
    // "+ text" per RFC 3501; a bare "+" is sent by several servers (and by Dovecot before
    // AUTHENTICATE data), "+text" is tolerated.
    size_t pos = 1;
    if (pos < n && p[pos] == ' ') {
      ++pos;
    }
    parseRespText(p, n, pos);
    complete = true;
    return Status::ok();
  }

  size_t pos = 0;
  size_t begin = 0;
  // The token at pos, up to the next space or the end: sets begin, returns its length.
  auto token = [&]() {
    begin = pos;
    const auto* sp = static_cast<const char*>(std::memchr(p + pos, ' ', n - pos));
    pos = sp != nullptr ? static_cast<size_t>(sp - p) : n;
    return pos - begin;
  };

  if (p[0] == '*') {
    cur.kind = Response::Kind::Untagged;
    if (n < 2 || p[1] != ' ') {
      return protocolError("expected a space after \"*\"", p, n, 1);
    }
    pos = 2;
    size_t len = token();
    if (len == 0) {
      return protocolError("missing response name after \"*\"", p, n, begin);
    }
    bool allDigits = true;
    for (size_t i = begin; i < begin + len; ++i) {
      allDigits = allDigits && p[i] >= '0' && p[i] <= '9';
    }
    if (allDigits) {
      uint64_t number = 0;
      for (size_t i = begin; i < begin + len && number <= UINT32_MAX; ++i) {
        number = number * 10 + static_cast<uint64_t>(p[i] - '0');
      }
      if (number > UINT32_MAX) {
        return protocolError("message number out of range", p, n, begin);
      }
      cur.number = static_cast<uint32_t>(number);
      cur.hasNumber = true;
      if (pos == n) {
        return protocolError("missing response name after the message number", p, n, pos);
      }
      ++pos;
      len = token();
      if (len == 0) {
        return protocolError("missing response name after the message number", p, n, begin);
      }
    }
    for (size_t i = begin; i < begin + len; ++i) {
      if (!isNameChar(static_cast<unsigned char>(p[i]))) {
        return protocolError("invalid response name", p, n, i);
      }
    }
    cur.status = upperCopy(p + begin, len);
    const std::string& s = cur.status;
    if (!cur.hasNumber && (s == "OK" || s == "NO" || s == "BAD" || s == "BYE" || s == "PREAUTH")) {
      parseRespText(p, n, pos < n ? pos + 1 : n);
      complete = true;
      return Status::ok();
    }
    stack.push_back(&cur.args);
    return parseValues(p, n, pos, complete);
  }

  cur.kind = Response::Kind::Tagged;
  size_t len = token();
  if (len == 0) {
    return protocolError("missing tag", p, n, 0);
  }
  for (size_t i = begin; i < begin + len; ++i) {
    if (!isTagChar(static_cast<unsigned char>(p[i]))) {
      return protocolError("invalid character in tag", p, n, i);
    }
  }
  cur.tag.assign(p + begin, len);
  if (pos == n) {
    return protocolError("tagged response without status", p, n, pos);
  }
  ++pos;
  len = token();
  cur.status = upperCopy(p + begin, len);
  if (cur.status != "OK" && cur.status != "NO" && cur.status != "BAD") {
    return protocolError("tagged response without OK/NO/BAD status", p, n, begin);
  }
  parseRespText(p, n, pos < n ? pos + 1 : n);
  complete = true;
  return Status::ok();
}

// resp-text = ["[" resp-text-code "]" SP] text. The text is not tokenized: servers put 8-bit
// bytes, brackets and unbalanced quotes in it.
void ResponseParser::Impl::parseRespText(const char* p, size_t n, size_t pos) {
  if (pos < n && p[pos] == '[') {
    const auto* close = static_cast<const char*>(std::memchr(p + pos + 1, ']', n - pos - 1));
    // Without a closing "]" it is just text that starts with "[".
    if (close != nullptr) {
      const char* inner = p + pos + 1;
      const auto innerLen = static_cast<size_t>(close - inner);
      const auto* sp = static_cast<const char*>(std::memchr(inner, ' ', innerLen));
      if (sp != nullptr) {
        cur.code = upperCopy(inner, static_cast<size_t>(sp - inner));
        cur.codeArgs.assign(sp + 1, static_cast<size_t>(close - sp - 1));
      } else {
        cur.code = upperCopy(inner, innerLen);
      }
      pos = static_cast<size_t>(close - p) + 1;
      if (pos < n && p[pos] == ' ') {
        ++pos;
      }
    }
  }
  cur.text.assign(p + pos, n - pos);
}

Status ResponseParser::Impl::pushValue(Value v, const char* p, size_t n, size_t at) {
  if (++valueCount > limits.maxValues) {
    return limitError("IMAP response has more than " + std::to_string(limits.maxValues) + " values", p, n,
                      at);
  }
  stack.back()->push_back(std::move(v));
  return Status::ok();
}

Status ResponseParser::Impl::parseValues(const char* p, size_t n, size_t pos, bool& complete) {
  while (true) {
    bool sawSpace = false;
    // Servers differ in spacing (e.g. "* SEARCH 1 2 " with a trailing space): runs of spaces are
    // accepted as one separator.
    while (pos < n && p[pos] == ' ') {
      ++pos;
      sawSpace = true;
    }
    if (pos == n) {
      if (stack.size() > 1) {
        return protocolError("unbalanced parentheses: " + std::to_string(stack.size() - 1) +
                                 " list(s) not closed at the end of the response",
                             p, n, n);
      }
      complete = true;
      return Status::ok();
    }
    const auto c = static_cast<unsigned char>(p[pos]);
    if (needSeparator && !sawSpace && c != ')') {
      // Catches a literal whose announced size is wrong, among others.
      return protocolError("expected a space or \")\" after a string", p, n, pos);
    }
    needSeparator = false;
    Status st;
    switch (c) {
      case '(': {
        if (stack.size() > limits.maxNesting) {
          return limitError(
              "IMAP response nested deeper than " + std::to_string(limits.maxNesting) + " lists", p, n, pos);
        }
        Value v;
        v.type = Value::Type::List;
        st = pushValue(std::move(v), p, n, pos);
        if (!st.isOk()) {
          return st;
        }
        stack.push_back(&stack.back()->back().list);
        ++pos;
        break;
      }
      case ')':
        if (stack.size() <= 1) {
          return protocolError("unbalanced parentheses: \")\" without \"(\"", p, n, pos);
        }
        stack.pop_back();
        ++pos;
        break;
      case '"':
        st = parseQuoted(p, n, pos);
        break;
      case '{':
        return parseLiteral(p, n, pos);
      case '~':
        if (pos + 1 < n && p[pos + 1] == '{') {  // literal8 (RFC 3516 BINARY)
          ++pos;
          return parseLiteral(p, n, pos);
        }
        st = parseAtom(p, n, pos);
        break;
      default:
        if (isCtl(c)) {
          return protocolError("unexpected control character", p, n, pos);
        }
        st = parseAtom(p, n, pos);
        break;
    }
    if (!st.isOk()) {
      return st;
    }
  }
}

Status ResponseParser::Impl::parseQuoted(const char* p, size_t n, size_t& pos) {
  const size_t start = pos;
  Value v;
  v.type = Value::Type::String;
  ++pos;
  while (true) {
    size_t run = pos;
    while (run < n && p[run] != '"' && p[run] != '\\') {
      ++run;
    }
    v.text.append(p + pos, run - pos);
    pos = run;
    if (pos == n) {
      return protocolError("unterminated quoted string", p, n, start);
    }
    if (p[pos] == '"') {
      ++pos;
      break;
    }
    // Backslash: RFC 3501 allows only \" and \\. For anything else the backslash is kept, so
    // that a server's unescaped "C:\mail" survives.
    if (pos + 1 == n) {
      return protocolError("unterminated quoted string", p, n, start);
    }
    const char next = p[pos + 1];
    if (next != '"' && next != '\\') {
      v.text += '\\';
    }
    v.text += next;
    pos += 2;
  }
  needSeparator = true;
  return pushValue(std::move(v), p, n, start);
}

Status ResponseParser::Impl::parseAtom(const char* p, size_t n, size_t& pos) {
  const size_t start = pos;
  while (pos < n) {
    const auto c = static_cast<unsigned char>(p[pos]);
    if (c == '[' && pos < noBracketFrom) {
      // A section spec: "BODY[HEADER.FIELDS (MESSAGE-ID DATE)]<0>" is one atom, spaces and
      // parentheses included. Without a closing "]" on the line (an unquoted mailbox name
      // "foo[bar") the "[" is an ordinary atom character.
      const auto* close = static_cast<const char*>(std::memchr(p + pos + 1, ']', n - pos - 1));
      if (close != nullptr) {
        pos = static_cast<size_t>(close - p) + 1;
        continue;
      }
      noBracketFrom = pos;
    } else if (endsAtom(c)) {
      break;
    }
    ++pos;
  }
  Value v;
  v.text.assign(p + start, pos - start);
  if (v.text.size() == 3 && asciiUpper(v.text[0]) == 'N' && asciiUpper(v.text[1]) == 'I' &&
      asciiUpper(v.text[2]) == 'L') {
    v.type = Value::Type::Nil;
    v.text.clear();
  }
  return pushValue(std::move(v), p, n, start);
}

// "{N}", "{N+}" (LITERAL+, sent by some servers although only clients may use it) or "~{N}",
// which must end the segment.
Status ResponseParser::Impl::parseLiteral(const char* p, size_t n, size_t& pos) {
  const size_t start = pos;
  size_t i = pos + 1;
  uint64_t size = 0;
  bool overflow = false;
  const size_t digitsStart = i;
  while (i < n && p[i] >= '0' && p[i] <= '9') {
    const auto digit = static_cast<uint64_t>(p[i] - '0');
    if (size > (UINT64_MAX - digit) / 10) {
      overflow = true;
    } else {
      size = size * 10 + digit;
    }
    ++i;
  }
  if (i == digitsStart) {
    return protocolError("invalid literal size", p, n, start);
  }
  if (i < n && p[i] == '+') {
    ++i;
  }
  if (i == n || p[i] != '}') {
    return protocolError("invalid literal size", p, n, start);
  }
  ++i;
  if (i != n) {
    return protocolError("missing CRLF after literal size", p, n, i);
  }
  if (overflow || size > limits.maxLiteralSize) {
    const std::string what = overflow
                                 ? std::string(p + digitsStart, std::min<size_t>(i - digitsStart - 1, 30))
                                 : std::to_string(size);
    return limitError("literal of " + what + " bytes exceeds the limit of " +
                          std::to_string(limits.maxLiteralSize) + " bytes",
                      p, n, start);
  }

  LiteralContext ctx;
  ctx.partial = &cur;
  ctx.size = size;
  if (cur.kind == Response::Kind::Untagged && cur.hasNumber && cur.status == "FETCH") {
    ctx.fetchNumber = cur.number;
    // Directly inside the FETCH list, items alternate name, value: an odd count means the literal
    // is the value of the last item name.
    const std::vector<Value>& items = *stack.back();
    if (stack.size() == 2 && cur.args.size() == 1 && items.size() % 2 == 1 &&
        items.back().type == Value::Type::Atom) {
      ctx.itemName = upperCopy(items.back().text.data(), items.back().text.size());
    }
  }
  if (valueCount + 1 > limits.maxValues) {
    return limitError("IMAP response has more than " + std::to_string(limits.maxValues) + " values", p, n,
                      start);
  }
  LiteralSink* claimed = handler ? handler(ctx) : nullptr;
  Value v;
  v.size = size;
  if (claimed != nullptr) {
    v.type = Value::Type::Streamed;
  } else {
    v.type = Value::Type::String;
    if (size > limits.maxInMemoryLiteral) {
      return limitError("literal of " + std::to_string(size) + " bytes exceeds the limit of " +
                            std::to_string(limits.maxInMemoryLiteral) + " bytes for literals kept in memory",
                        p, n, start);
    }
    if (memLiteralBytes + size > limits.maxInMemoryTotal) {
      return limitError("literals of one IMAP response exceed the limit of " +
                            std::to_string(limits.maxInMemoryTotal) + " bytes kept in memory",
                        p, n, start);
    }
    v.text.reserve(static_cast<size_t>(size));
    memLiteralBytes += size;
  }
  MIGRATE_RETURN_IF_ERROR(pushValue(std::move(v), p, n, start));
  pos = n;
  literalValue = &stack.back()->back();
  sink = claimed;
  literalRemaining = size;
  inLiteral = true;
  needSeparator = true;
  if (size == 0) {
    return finishLiteral();
  }
  return Status::ok();
}

Status ResponseParser::Impl::finishLiteral() {
  inLiteral = false;
  literalValue = nullptr;
  LiteralSink* s = std::exchange(sink, nullptr);
  return s != nullptr ? s->finish() : Status::ok();
}

ResponseParser::ResponseParser(ParserLimits limits, LiteralHandler handler)
    : impl_(std::make_unique<Impl>(limits, std::move(handler))) {}

ResponseParser::~ResponseParser() = default;
ResponseParser::ResponseParser(ResponseParser&&) noexcept = default;
ResponseParser& ResponseParser::operator=(ResponseParser&&) noexcept = default;

Status ResponseParser::feed(const char* data, size_t len, std::vector<Response>& out) {
  Impl& d = *impl_;
  if (d.failed) {
    return d.error;
  }
  Status st = d.feed(data, len, out);
  if (!st.isOk()) {
    d.failed = true;
    d.error = st;
  }
  return st;
}

bool ResponseParser::idle() const {
  const Impl& d = *impl_;
  return !d.failed && !d.inResponse && !d.inLiteral && d.line.empty();
}

size_t ResponseParser::bufferedBytes() const {
  const Impl& d = *impl_;
  return d.line.size() + static_cast<size_t>(d.lineBytes + d.memLiteralBytes);
}

}  // namespace migrate::imap
