#pragma once
// A ManageSieve client (RFC 5804) for what the migration needs from the old server: its Sieve
// scripts, their text exactly as stored, and which one is active (docs/dev/sieve-research.md).
// Reads only: no PUTSCRIPT, SETACTIVE or DELETESCRIPT is ever sent. Blocking, on the calling
// thread, over a net::Transport.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "net/line_channel.h"
#include "net/transport.h"

namespace migrate::sieve {

using SessionOptions = net::PeerOptions;

struct ScriptEntry {
  std::string name;
  bool active = false;
};

class Session {
 public:
  Session(std::unique_ptr<net::Transport> transport, SessionOptions options);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The capability lines up to the greeting's OK.
  Status readGreeting();
  // Capability names are upper case; the value is "" for a name without one.
  bool hasCapability(const std::string& name) const { return capabilities_.count(name) != 0; }
  std::string capability(const std::string& name) const;
  // STARTTLS, the handshake, then the capabilities the server sends again.
  Status startTls(const net::TlsOptions& tls);
  // AUTHENTICATE "PLAIN" with the initial response (a master user as authcid, the user as
  // authzid). A refusal is Auth, with the server's words.
  Status login(const std::string& user, const std::string& password, const std::string& masterUser = {});
  Result<std::vector<ScriptEntry>> listScripts();
  // The script's bytes exactly as the server stores them.
  Result<std::string> getScript(const std::string& name);
  Status logout();
  void close() { channel_.close(); }

 private:
  struct Token {
    enum class Kind { Atom, String, Open, Close } kind = Kind::Atom;
    std::string text;
  };
  // One response line as tokens (literals read in place), without its CRLF.
  Result<std::vector<Token>> readTokens();
  // Reads lines until OK/NO/BYE; each earlier line goes to `onLine` (if any). NO is an error of
  // kind `refused` (NotFound for NONEXISTENT, Throttled for TRYLATER), BYE is Closed; both say
  // what `what` was.
  Status untilDone(const std::string& what,
                   const std::function<Status(const std::vector<Token>&)>& onLine = nullptr,
                   ErrorKind refused = ErrorKind::Protocol);
  Status readCapabilities(const std::string& what);

  SessionOptions options_;
  net::LineChannel channel_;
  std::map<std::string, std::string> capabilities_;
};

// `s` as a ManageSieve quoted string ("..." with \" and \\), or as a literal {n+} when it holds
// CR, LF or NUL.
std::string quoteString(const std::string& s);

}  // namespace migrate::sieve
