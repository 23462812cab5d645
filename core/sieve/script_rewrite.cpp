#include "sieve/script_rewrite.h"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <utility>

#include "common/strings.h"
#include "sieve/script_lexer.h"

namespace migrate::sieve {

namespace {

using Kind = ScriptToken::Kind;

// One argument of a command or test: a tag, a number, or strings (one, or a list's elements).
struct Arg {
  const ScriptToken* tag = nullptr;
  std::vector<size_t> strings;  // token indexes
  bool isString() const { return tag == nullptr && !strings.empty(); }
};

// A command or a test with its arguments.
struct Call {
  std::string name;  // lower case
  uint32_t line = 0;
  std::vector<Arg> args;
};

// RFC 5228 §8.2, just enough to find each command's and test's arguments.
class Parser {
 public:
  explicit Parser(const std::vector<ScriptToken>& t) : t_(t) {}

  Result<std::vector<Call>> run() {
    MIGRATE_RETURN_IF_ERROR(commands(false));
    return std::move(calls_);
  }

 private:
  const ScriptToken* peek() const { return i_ < t_.size() ? &t_[i_] : nullptr; }
  bool atPunct(char c) const { return peek() != nullptr && peek()->isPunct(c); }

  Status error(const std::string& what) const {
    uint32_t line = peek() != nullptr ? peek()->line : (t_.empty() ? 1 : t_.back().line);
    return Status(ErrorKind::Protocol, "line " + std::to_string(line) + ": " + what);
  }

  Status expect(char c) {
    if (!atPunct(c)) {
      return error(std::string("'") + c + "' expected");
    }
    i_++;
    return Status::ok();
  }

  Status commands(bool inBlock) {
    while (peek() != nullptr && !(inBlock && atPunct('}'))) {
      MIGRATE_RETURN_IF_ERROR(call(true));
      if (atPunct('{')) {
        i_++;
        MIGRATE_RETURN_IF_ERROR(commands(true));
        MIGRATE_RETURN_IF_ERROR(expect('}'));
      } else {
        MIGRATE_RETURN_IF_ERROR(expect(';'));
      }
    }
    return inBlock && peek() == nullptr ? error("'}' expected before the end of the script") : Status::ok();
  }

  // A command or a test: its name, its arguments, then a test or a test list.
  Status call(bool command) {
    if (peek() == nullptr || peek()->kind != Kind::Identifier) {
      return error(command ? "a command expected" : "a test expected");
    }
    Call c{lowerAscii(peek()->value), peek()->line, {}};
    i_++;
    size_t slot = calls_.size();
    calls_.push_back(c);
    MIGRATE_RETURN_IF_ERROR(arguments(c.args));
    calls_[slot].args = std::move(c.args);
    if (atPunct('(')) {
      i_++;
      do {
        MIGRATE_RETURN_IF_ERROR(call(false));
      } while (atPunct(',') && (++i_, true));
      return expect(')');
    }
    if (peek() != nullptr && peek()->kind == Kind::Identifier) {
      return call(false);
    }
    return Status::ok();
  }

  Status arguments(std::vector<Arg>& args) {
    while (peek() != nullptr) {
      const ScriptToken& tok = *peek();
      Arg a;
      if (tok.kind == Kind::Tag) {
        a.tag = &tok;
        i_++;
      } else if (tok.kind == Kind::Number) {
        i_++;
      } else if (tok.isString()) {
        a.strings.push_back(i_++);
      } else if (tok.isPunct('[')) {
        i_++;
        do {
          if (peek() == nullptr || !peek()->isString()) {
            return error("a string expected in a list");
          }
          a.strings.push_back(i_++);
        } while (atPunct(',') && (++i_, true));
        MIGRATE_RETURN_IF_ERROR(expect(']'));
      } else {
        return Status::ok();
      }
      args.push_back(std::move(a));
    }
    return Status::ok();
  }

  const std::vector<ScriptToken>& t_;
  size_t i_ = 0;
  std::vector<Call> calls_;
};

// The n-th string argument counted from the end (1: the last), or null.
const Arg* stringFromEnd(const Call& c, size_t n) {
  std::vector<const Arg*> strings;
  for (const Arg& a : c.args) {
    if (a.isString()) {
      strings.push_back(&a);
    }
  }
  return n <= strings.size() ? strings[strings.size() - n] : nullptr;
}

// The mailbox arguments of `c` (research notes §5), as (what, argument) pairs.
std::vector<std::pair<std::string, const Arg*>> mailboxArgs(const Call& c) {
  std::vector<std::pair<std::string, const Arg*>> out;
  auto add = [&](const Arg* a) {
    if (a != nullptr) {
      out.emplace_back(c.name, a);
    }
  };
  if (c.name == "fileinto" || c.name == "mailboxexists") {
    add(stringFromEnd(c, 1));
  } else if (c.name == "metadata") {
    add(stringFromEnd(c, 3));
  } else if (c.name == "metadataexists" ||
             (c.name == "specialuse_exists" && stringFromEnd(c, 3) == nullptr)) {
    // specialuse_exists names a mailbox only when it has two arguments.
    add(stringFromEnd(c, 2));
  }
  for (size_t k = 0; k + 1 < c.args.size(); k++) {
    const ScriptToken* tag = c.args[k].tag;
    if (tag != nullptr && (lowerAscii(tag->value) == "fcc" || lowerAscii(tag->value) == "mailbox") &&
        c.args[k + 1].isString()) {
      out.emplace_back(":" + lowerAscii(tag->value), &c.args[k + 1]);
    }
  }
  return out;
}

// The extensions named by `require` commands.
std::set<std::string> requiredExtensions(const std::vector<Call>& calls,
                                         const std::vector<ScriptToken>& toks) {
  std::set<std::string> out;
  for (const Call& c : calls) {
    if (c.name != "require") {
      continue;
    }
    for (const Arg& a : c.args) {
      for (size_t i : a.strings) {
        out.insert(lowerAscii(toks[i].value));
      }
    }
  }
  return out;
}

// One ${hex:..} / ${unicode:..} (RFC 5228 §2.4.2.4) as UTF-8; false when `body` is not one.
bool decodeEncoded(const std::string& kind, const std::string& body, std::string& out) {
  std::string words = body;
  std::replace(words.begin(), words.end(), '\t', ' ');
  const char* p = words.c_str();
  while (*p != '\0') {
    while (*p == ' ') {
      p++;
    }
    if (*p == '\0') {
      break;
    }
    char* end = nullptr;
    unsigned long v = std::strtoul(p, &end, 16);
    if (end == p || (*end != ' ' && *end != '\0')) {
      return false;
    }
    p = end;
    if (kind == "hex") {
      out += static_cast<char>(v & 0xff);
    } else if (v <= 0x10ffff) {
      appendUtf8(out, static_cast<uint32_t>(v));
    } else {
      return false;
    }
  }
  return true;
}

std::string decodeEncodedCharacters(const std::string& s) {
  std::string out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t open = s.find("${", pos);
    size_t close = open == std::string::npos ? std::string::npos : s.find('}', open);
    if (close == std::string::npos) {
      break;
    }
    out += s.substr(pos, open - pos);
    std::string inner = s.substr(open + 2, close - open - 2);
    size_t colon = inner.find(':');
    std::string kind = lowerAscii(inner.substr(0, colon == std::string::npos ? 0 : colon));
    std::string decoded;
    if ((kind == "hex" || kind == "unicode") && decodeEncoded(kind, inner.substr(colon + 1), decoded)) {
      out += decoded;
    } else {
      out += s.substr(open, close + 1 - open);
    }
    pos = close + 1;
  }
  return out + s.substr(std::min(pos, s.size()));
}

// RFC 5229 §3: "${" then a name or a number, then "}".
bool hasVariableReference(const std::string& s) {
  for (size_t open = s.find("${"); open != std::string::npos; open = s.find("${", open + 2)) {
    size_t k = open + 2;
    while (k < s.size() &&
           (std::isalnum(static_cast<unsigned char>(s[k])) != 0 || s[k] == '_' || s[k] == '.')) {
      k++;
    }
    if (k > open + 2 && k < s.size() && s[k] == '}') {
      return true;
    }
  }
  return false;
}

}  // namespace

bool RewriteResult::changed() const {
  return std::any_of(refs.begin(), refs.end(), [](const FolderRef& r) { return !r.mappedTo.empty(); });
}

RewriteResult rewriteScript(const std::string& script, const FolderMapFn& folders,
                            const std::map<std::string, std::string>& renamedScripts) {
  RewriteResult out;
  out.script = script;
  Result<std::vector<ScriptToken>> toks = tokenizeScript(script);
  Result<std::vector<Call>> calls =
      toks.isOk() ? Parser(toks.value()).run() : Result<std::vector<Call>>(toks.status());
  if (!calls.isOk()) {
    out.parseError = calls.status();
    return out;
  }
  const std::vector<ScriptToken>& t = toks.value();
  const std::set<std::string> req = requiredExtensions(calls.value(), t);
  const bool variables = req.count("variables") > 0;
  const bool encoded = req.count("encoded-character") > 0;
  std::map<size_t, std::string> replace;  // token index -> new text
  for (const Call& c : calls.value()) {
    if (c.name == "include") {
      const Arg* a = stringFromEnd(c, 1);
      bool global = std::any_of(c.args.begin(), c.args.end(), [](const Arg& x) {
        return x.tag != nullptr && lowerAscii(x.tag->value) == "global";
      });
      auto it = a == nullptr || global ? renamedScripts.end() : renamedScripts.find(t[a->strings[0]].value);
      if (it != renamedScripts.end()) {
        replace[a->strings[0]] = encodeLike(t[a->strings[0]], script, it->second);
      }
      continue;
    }
    for (const auto& [what, arg] : mailboxArgs(c)) {
      for (size_t i : arg->strings) {
        FolderRef ref{t[i].line, what, encoded ? decodeEncodedCharacters(t[i].value) : t[i].value,
                      {},        {},   {}};
        if (variables && hasVariableReference(ref.name)) {
          ref.problem = "built from variables: known only at delivery, left as it is";
        } else if (std::optional<MappedFolder> m = folders(ref.name); !m) {
          ref.problem = "not among the migrated folders, left as it is";
        } else {
          ref.remark = m->remark;
          if (m->name != t[i].value) {
            ref.mappedTo = m->name;
            replace[i] = encodeLike(t[i], script, m->name);
          }
        }
        out.refs.push_back(std::move(ref));
      }
    }
  }
  std::string text;
  size_t pos = 0;
  for (const auto& [i, newText] : replace) {
    text += script.substr(pos, t[i].begin - pos) + newText;
    pos = t[i].end;
  }
  out.script = text + script.substr(pos);
  return out;
}

}  // namespace migrate::sieve
