// libFuzzer target: the IMAP response parser (core/imap/parser.h) on bytes a hostile or broken
// server could send.
//
// Input: 3 control bytes, then the server's bytes.
//   byte 0, bit 0: tight ParserLimits (tiny lines, literals, nesting), else the defaults
//           bit 1: a LiteralHandler claims FETCH BODY[...]/BINARY[...]/RFC822... literals into a
//                  bounded sink, as the session does; else every literal stays in memory
//           bit 2: that sink fails (as on a full disk) at its first append or finish
//           bit 3: feed three pieces instead of two
//   bytes 1, 2: where to split the server's bytes, as a fraction /256 of their length
//
// Beyond what ASan/UBSan catch, it checks the parser's contracts:
//  - the pieces give the same responses, literals and error as one feed() of everything
//    ("any split of the input gives the same responses");
//  - a claimed literal receives exactly its announced size, then one finish(); nothing after;
//  - a sink's error comes back from feed() unchanged; a failed parser repeats its error and emits
//    nothing more;
//  - bufferedBytes() stays within the limits.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "imap/parser.h"

namespace migrate::imap {
namespace {

using fuzz::escaped;

ParserLimits tightLimits() {
  ParserLimits l;
  l.maxLineLength = 200;
  l.maxNesting = 4;
  l.maxLiteralSize = 3000;
  l.maxInMemoryLiteral = 100;
  l.maxInMemoryTotal = 250;
  l.maxValues = 40;
  return l;
}

struct SinkRecord {
  std::string itemName;
  uint32_t fetchNumber = 0;
  uint64_t size = 0;
  uint64_t received = 0;
  std::string head;  // the first kKeep bytes
  bool finished = false;
  std::string returnedError;  // what a failing sink returned, as "kind: message"
};

// Keeps the first bytes of the literal and counts the rest, like a sink that spools to disk.
class BoundedSink : public LiteralSink {
 public:
  static constexpr size_t kKeep = 512;

  BoundedSink(SinkRecord* rec, bool failing) : rec_(rec), failing_(failing) {}

  Status append(const char* data, size_t len) override {
    FUZZ_CHECK(!rec_->finished, "append() after finish()");
    FUZZ_CHECK(len > 0, "append() of 0 bytes");
    FUZZ_CHECK(rec_->returnedError.empty(), "append() after the sink returned an error");
    if (failing_) {
      return fail("no space left for the message");
    }
    rec_->received += len;
    FUZZ_CHECK(rec_->received <= rec_->size, "literal of " + std::to_string(rec_->size) + " bytes got " +
                                                 std::to_string(rec_->received) + " bytes");
    rec_->head.append(data, std::min(len, kKeep - std::min(kKeep, rec_->head.size())));
    return Status::ok();
  }

  Status finish() override {
    FUZZ_CHECK(!rec_->finished, "finish() twice");
    FUZZ_CHECK(rec_->returnedError.empty(), "finish() after the sink returned an error");
    if (failing_) {
      return fail("cannot finish the message");
    }
    FUZZ_CHECK(rec_->received == rec_->size, "finish() after " + std::to_string(rec_->received) +
                                                 " bytes of a literal of " + std::to_string(rec_->size));
    rec_->finished = true;
    return Status::ok();
  }

 private:
  Status fail(const std::string& why) {
    rec_->returnedError = std::string("local-storage: ") + why;
    return Status(ErrorKind::LocalStorage, why);
  }

  SinkRecord* rec_;
  bool failing_;
};

bool claims(const LiteralContext& ctx) {
  const std::string& n = ctx.itemName;
  return ctx.fetchNumber > 0 &&
         (n.compare(0, 5, "BODY[") == 0 || n.compare(0, 7, "BINARY[") == 0 || n.compare(0, 6, "RFC822") == 0);
}

struct Run {
  std::vector<Response> responses;
  std::deque<SinkRecord> sinks;  // deque: the sinks keep pointers to their records
  std::deque<BoundedSink> sinkObjects;
  bool ok = true;
  std::string error;  // kind and message
};

std::string describe(const Status& st) {
  return std::string(errorKindName(st.kind())) + ": " + st.message();
}

std::string dumpValue(const Value& v) {
  switch (v.type) {
    case Value::Type::Atom:
      return escaped(v.text);
    case Value::Type::String:
      return "\"" + escaped(v.text) + "\"";
    case Value::Type::Nil:
      return "NIL";
    case Value::Type::Streamed:
      return "<streamed " + std::to_string(v.size) + ">";
    case Value::Type::List: {
      std::string out = "(";
      for (size_t i = 0; i < v.list.size(); ++i) {
        out += (i > 0 ? " " : "") + dumpValue(v.list[i]);
      }
      return out + ")";
    }
  }
  return "?";
}

std::string dump(const Response& r) {
  std::string out = "kind=" + std::to_string(static_cast<int>(r.kind)) + " tag=" + escaped(r.tag) +
                    " status=" + escaped(r.status) + " number=" + std::to_string(r.number) +
                    (r.hasNumber ? "" : "(none)") + " code=" + escaped(r.code) +
                    " codeArgs=" + escaped(r.codeArgs) + " text=" + escaped(r.text) + " args=";
  for (const Value& v : r.args) {
    out += dumpValue(v) + " ";
  }
  return out;
}

bool sameValue(const Value& a, const Value& b) {
  if (a.type != b.type || a.text != b.text || a.size != b.size || a.list.size() != b.list.size()) {
    return false;
  }
  for (size_t i = 0; i < a.list.size(); ++i) {
    if (!sameValue(a.list[i], b.list[i])) {
      return false;
    }
  }
  return true;
}

bool sameResponse(const Response& a, const Response& b) {
  if (a.kind != b.kind || a.tag != b.tag || a.status != b.status || a.number != b.number ||
      a.hasNumber != b.hasNumber || a.code != b.code || a.codeArgs != b.codeArgs || a.text != b.text ||
      a.args.size() != b.args.size()) {
    return false;
  }
  for (size_t i = 0; i < a.args.size(); ++i) {
    if (!sameValue(a.args[i], b.args[i])) {
      return false;
    }
  }
  return true;
}

void checkValues(const std::vector<Value>& values, size_t depth, const ParserLimits& limits) {
  FUZZ_CHECK(depth <= limits.maxNesting + 1, "lists nested deeper than maxNesting");
  for (const Value& v : values) {
    if (v.type == Value::Type::Nil) {
      FUZZ_CHECK(v.text.empty(), "NIL with text");
    }
    if (v.type == Value::Type::String && v.size > 0) {
      FUZZ_CHECK(v.text.size() == v.size, "in-memory literal of " + std::to_string(v.size) + " bytes holds " +
                                              std::to_string(v.text.size()));
      FUZZ_CHECK(v.size <= limits.maxInMemoryLiteral, "in-memory literal above maxInMemoryLiteral");
    }
    if (v.type != Value::Type::List) {
      FUZZ_CHECK(v.list.empty(), "non-list value with list items");
    }
    checkValues(v.list, depth + 1, limits);
  }
}

Run parse(const std::string& bytes, const std::vector<size_t>& cuts, const ParserLimits& limits, bool claim,
          bool failingSink) {
  Run run;
  ResponseParser::LiteralHandler handler;
  if (claim) {
    handler = [&run, &limits, failingSink](const LiteralContext& ctx) -> LiteralSink* {
      FUZZ_CHECK(ctx.partial != nullptr, "LiteralContext without the partial response");
      FUZZ_CHECK(ctx.size <= limits.maxLiteralSize, "literal above maxLiteralSize offered to the handler");
      if (ctx.fetchNumber != 0) {
        FUZZ_CHECK(ctx.partial->status == "FETCH" && ctx.partial->hasNumber &&
                       ctx.partial->number == ctx.fetchNumber,
                   "fetchNumber set outside an untagged FETCH");
      }
      if (!claims(ctx)) {
        return nullptr;
      }
      SinkRecord& rec = run.sinks.emplace_back();
      rec.itemName = ctx.itemName;
      rec.fetchNumber = ctx.fetchNumber;
      rec.size = ctx.size;
      return &run.sinkObjects.emplace_back(&rec, failingSink);
    };
  }
  ResponseParser parser(limits, handler);
  const size_t lineCap = std::max<size_t>(limits.maxLineLength + 2, 64);
  const size_t maxBuffered = lineCap + limits.maxLineLength + limits.maxInMemoryTotal;
  size_t from = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t to = i < cuts.size() ? cuts[i] : bytes.size();
    Status st = parser.feed(bytes.data() + from, to - from, run.responses);
    from = to;
    if (!st.isOk()) {
      run.ok = false;
      run.error = describe(st);
      FUZZ_CHECK(!parser.idle(), "idle() after an error");
      // Fed again, a failed parser repeats its error and parses nothing.
      const size_t count = run.responses.size();
      Status again = parser.feed(bytes.data(), bytes.size(), run.responses);
      FUZZ_CHECK(!again.isOk() && describe(again) == run.error,
                 "a failed parser fed again did not repeat its error: " + run.error);
      FUZZ_CHECK(run.responses.size() == count, "a failed parser emitted responses");
      break;
    }
    FUZZ_CHECK(parser.bufferedBytes() <= maxBuffered,
               "bufferedBytes() " + std::to_string(parser.bufferedBytes()) + " above the limits");
  }
  for (const Response& r : run.responses) {
    checkValues(r.args, 0, limits);
  }
  for (const SinkRecord& rec : run.sinks) {
    if (!rec.returnedError.empty()) {
      FUZZ_CHECK(!run.ok && run.error == rec.returnedError,
                 "the sink's error \"" + rec.returnedError +
                     "\" did not come back from feed(): " + (run.ok ? "ok" : run.error));
    }
  }
  return run;
}

std::string firstDifference(const Run& a, const Run& b) {
  for (size_t i = 0; i < std::min(a.responses.size(), b.responses.size()); ++i) {
    if (!sameResponse(a.responses[i], b.responses[i])) {
      return "response " + std::to_string(i) + ":\n  whole: " + dump(a.responses[i]) +
             "\n  split: " + dump(b.responses[i]);
    }
  }
  if (a.responses.size() != b.responses.size()) {
    return std::to_string(a.responses.size()) + " responses whole, " + std::to_string(b.responses.size()) +
           " split";
  }
  if (a.ok != b.ok || a.error != b.error) {
    return "whole: " + (a.ok ? std::string("ok") : a.error) + "\n  split: " + (b.ok ? "ok" : b.error);
  }
  if (a.sinks.size() != b.sinks.size()) {
    return std::to_string(a.sinks.size()) + " claimed literals whole, " + std::to_string(b.sinks.size()) +
           " split";
  }
  for (size_t i = 0; i < a.sinks.size(); ++i) {
    const SinkRecord& x = a.sinks[i];
    const SinkRecord& y = b.sinks[i];
    if (x.itemName != y.itemName || x.fetchNumber != y.fetchNumber || x.size != y.size ||
        x.received != y.received || x.head != y.head || x.finished != y.finished ||
        x.returnedError != y.returnedError) {
      return "claimed literal " + std::to_string(i) + " (" + escaped(x.itemName) + ") differs";
    }
  }
  return {};
}

}  // namespace
}  // namespace migrate::imap

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace migrate::imap;
  if (size < 3) {
    return 0;
  }
  const uint8_t mode = data[0];
  const ParserLimits limits = (mode & 1) != 0 ? tightLimits() : ParserLimits();
  const bool claim = (mode & 2) != 0;
  const bool failingSink = (mode & 4) != 0;
  const std::string bytes(reinterpret_cast<const char*>(data + 3), size - 3);

  std::vector<size_t> cuts = {bytes.size() * data[1] / 256};
  if ((mode & 8) != 0) {
    cuts.push_back(bytes.size() * data[2] / 256);
    if (cuts[1] < cuts[0]) {
      std::swap(cuts[0], cuts[1]);
    }
  }

  const Run whole = parse(bytes, {}, limits, claim, failingSink);
  const Run split = parse(bytes, cuts, limits, claim, failingSink);
  const std::string diff = firstDifference(whole, split);
  FUZZ_CHECK(diff.empty(), "split at " + std::to_string(cuts[0]) +
                               (cuts.size() > 1 ? "," + std::to_string(cuts[1]) : std::string()) +
                               " differs from one feed(): " + diff);
  return 0;
}
