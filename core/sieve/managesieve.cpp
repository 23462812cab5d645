#include "sieve/managesieve.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <utility>

#include "common/base64.h"
#include "common/strings.h"

namespace migrate::sieve {

namespace {

constexpr size_t kMaxLiteral = size_t{16} << 20;  // a Sieve script is small; Dovecot's limit is 1 MiB

}  // namespace

std::string quoteString(const std::string& s) {
  if (s.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
    return "{" + std::to_string(s.size()) + "+}\r\n" + s;
  }
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

Session::Session(std::unique_ptr<net::Transport> transport, SessionOptions options)
    : options_(std::move(options)),
      channel_(std::move(transport), "the ManageSieve server " + options_.peerName, options_.ioTimeoutMs) {}

std::string Session::capability(const std::string& name) const {
  auto it = capabilities_.find(name);
  return it == capabilities_.end() ? std::string() : it->second;
}

Result<std::vector<Session::Token>> Session::readTokens() {
  std::vector<Token> tokens;
  MIGRATE_ASSIGN_OR_RETURN(std::string line, channel_.readLine());
  const Status bad(ErrorKind::Protocol,
                   "the ManageSieve server " + options_.peerName + " sent '" + printableText(line) + "'");
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (c == ' ') {
      i++;
    } else if (c == '(' || c == ')') {
      tokens.push_back({c == '(' ? Token::Kind::Open : Token::Kind::Close, std::string(1, c)});
      i++;
    } else if (c == '"') {
      std::string s;
      for (i++; i < line.size() && line[i] != '"'; i++) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          i++;
        }
        s += line[i];
      }
      if (i >= line.size()) {
        return bad;
      }
      i++;
      tokens.push_back({Token::Kind::String, std::move(s)});
    } else if (c == '{') {
      // A literal ends its line: {n} or {n+}, then n bytes, then the rest of the response.
      const char* start = line.c_str() + i + 1;
      char* end = nullptr;
      const unsigned long long n = std::strtoull(start, &end, 10);
      if (end == start || n > kMaxLiteral) {
        return bad;
      }
      end += *end == '+' ? 1 : 0;
      if (*end != '}' || static_cast<size_t>(end - line.c_str()) + 1 != line.size()) {
        return bad;
      }
      MIGRATE_ASSIGN_OR_RETURN(std::string bytes, channel_.readBytes(static_cast<size_t>(n)));
      tokens.push_back({Token::Kind::String, std::move(bytes)});
      MIGRATE_ASSIGN_OR_RETURN(line, channel_.readLine());
      i = 0;
    } else {
      const size_t e = line.find_first_of(" ()", i);
      tokens.push_back(
          {Token::Kind::Atom, line.substr(i, e == std::string::npos ? std::string::npos : e - i)});
      i = e == std::string::npos ? line.size() : e;
    }
  }
  return tokens;
}

Status Session::untilDone(const std::string& what,
                          const std::function<Status(const std::vector<Token>&)>& onLine, ErrorKind refused) {
  while (true) {
    MIGRATE_ASSIGN_OR_RETURN(std::vector<Token> t, readTokens());
    const std::string first =
        !t.empty() && t[0].kind == Token::Kind::Atom ? upperAscii(t[0].text) : std::string();
    if (first != "OK" && first != "NO" && first != "BYE") {
      MIGRATE_RETURN_IF_ERROR(onLine ? onLine(t) : Status::ok());
      continue;
    }
    if (first == "OK") {
      return Status::ok();
    }
    std::string code;
    std::string text;
    for (size_t k = 1; k < t.size(); k++) {
      if (t[k].kind == Token::Kind::Open && k + 1 < t.size()) {
        code = upperAscii(t[k + 1].text);
      } else if (t[k].kind == Token::Kind::String && (k == 0 || t[k - 1].kind != Token::Kind::Open)) {
        text = t[k].text;
      }
    }
    const std::string said = "the ManageSieve server " + options_.peerName +
                             (first == "BYE" ? " ended " : " refused ") + what + ": " +
                             (code.empty() ? "" : "(" + code + ") ") + printableText(text);
    if (code == "TRYLATER") {
      return Status(ErrorKind::Throttled, said, "the server asks to try again later");
    }
    if (code == "NONEXISTENT") {
      return Status(ErrorKind::NotFound, said);
    }
    return Status(first == "BYE" ? ErrorKind::Closed : refused, said);
  }
}

Status Session::readCapabilities(const std::string& what) {
  capabilities_.clear();
  return untilDone(what, [this](const std::vector<Token>& t) {
    if (t.empty() || t[0].kind != Token::Kind::String) {
      // E.g. an IMAP server's "* OK ..." on the port given: fail now, not after the timeout.
      return Status(
          ErrorKind::Protocol,
          options_.peerName + " is not a ManageSieve server: its greeting is not a capability list",
          "check --source-sieve (ManageSieve usually listens on port 4190), or give --source-sieve no");
    }
    capabilities_[upperAscii(t[0].text)] = t.size() > 1 ? t[1].text : std::string();
    return Status::ok();
  });
}

Status Session::readGreeting() {
  return readCapabilities("the connection");
}

Status Session::startTls(const net::TlsOptions& tls) {
  if (!hasCapability("STARTTLS")) {
    return Status(ErrorKind::Tls, "the ManageSieve server " + options_.peerName + " does not offer STARTTLS",
                  "give --source-sieve HOST:PORT of a port it offers TLS on, or --source-tls none only on a "
                  "trusted network");
  }
  MIGRATE_RETURN_IF_ERROR(channel_.writeLine("STARTTLS"));
  MIGRATE_RETURN_IF_ERROR(untilDone("STARTTLS"));
  MIGRATE_RETURN_IF_ERROR(channel_.startTls(tls));
  return readCapabilities("the TLS connection");
}

Status Session::login(const std::string& user, const std::string& password, const std::string& masterUser) {
  const std::string what = "the login as '" + user + "'";
  const std::string plain = (masterUser.empty() ? std::string() : user) + '\0' +
                            (masterUser.empty() ? user : masterUser) + '\0' + password;
  MIGRATE_RETURN_IF_ERROR(channel_.writeLine("AUTHENTICATE \"PLAIN\" \"" + base64Encode(plain) + "\"", true));
  Status st = untilDone(what, nullptr, ErrorKind::Auth);
  if (st.isOk() || st.kind() != ErrorKind::Auth) {
    return st;
  }
  return Status(
      ErrorKind::Auth, st.message(),
      "the ManageSieve login uses the IMAP login and password; check them, or give --source-sieve no");
}

Result<std::vector<ScriptEntry>> Session::listScripts() {
  MIGRATE_RETURN_IF_ERROR(channel_.writeLine("LISTSCRIPTS"));
  std::vector<ScriptEntry> out;
  MIGRATE_RETURN_IF_ERROR(untilDone("LISTSCRIPTS", [&out](const std::vector<Token>& t) {
    if (!t.empty() && t[0].kind == Token::Kind::String) {
      out.push_back({t[0].text, t.size() > 1 && upperAscii(t[1].text) == "ACTIVE"});
    }
    return Status::ok();
  }));
  return out;
}

Result<std::string> Session::getScript(const std::string& name) {
  MIGRATE_RETURN_IF_ERROR(channel_.writeLine("GETSCRIPT " + quoteString(name)));
  std::string script;
  bool got = false;
  MIGRATE_RETURN_IF_ERROR(untilDone("GETSCRIPT of '" + name + "'", [&](const std::vector<Token>& t) {
    if (!got && !t.empty() && t[0].kind == Token::Kind::String) {
      script = t[0].text;
      got = true;
    }
    return Status::ok();
  }));
  return script;
}

Status Session::logout() {
  MIGRATE_RETURN_IF_ERROR(channel_.writeLine("LOGOUT"));
  return untilDone("LOGOUT");
}

}  // namespace migrate::sieve
