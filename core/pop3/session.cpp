#include "pop3/session.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <utility>

#include "common/base64.h"
#include "common/strings.h"

namespace migrate::pop3 {

namespace {

// TOP commands in flight at once with PIPELINING.
constexpr size_t kPipelineWindow = 64;

bool startsWith(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

// "3 1234" -> (3, "1234"); false when the line is not a number and a word.
bool numberAndWord(const std::string& line, uint32_t& number, std::string& word) {
  const size_t sp = line.find(' ');
  if (sp == std::string::npos || sp == 0) {
    return false;
  }
  char* end = nullptr;
  const unsigned long n = std::strtoul(line.c_str(), &end, 10);
  if (end != line.c_str() + sp || n == 0 || n > UINT32_MAX) {
    return false;
  }
  number = static_cast<uint32_t>(n);
  word = line.substr(sp + 1);
  const size_t sp2 = word.find(' ');
  if (sp2 != std::string::npos) {
    word.resize(sp2);  // LIST may add more after the size
  }
  return !word.empty();
}

}  // namespace

Session::Session(std::unique_ptr<net::Transport> transport, SessionOptions options)
    : options_(std::move(options)),
      channel_(std::move(transport), "the POP3 server " + options_.peerName, options_.ioTimeoutMs) {}

Status Session::error(const std::string& what, const std::string& text, ErrorKind refused) const {
  const std::string said =
      "the POP3 server " + options_.peerName + " refused " + what + ": " + printableText(text);
  if (startsWith(text, "[IN-USE]")) {
    return Status(ErrorKind::Busy, said,
                  "another POP3 session holds the mailbox; try again when it has ended");
  }
  if (startsWith(text, "[SYS/TEMP]")) {
    return Status(ErrorKind::Throttled, said, "a temporary problem at the server; try again later");
  }
  return Status(refused, said);
}

Result<std::string> Session::reply(const std::string& what, ErrorKind refused) {
  MIGRATE_ASSIGN_OR_RETURN(std::string line, channel_.readLine());
  if (startsWith(line, "+OK")) {
    return line.size() > 4 ? line.substr(4) : std::string();
  }
  if (startsWith(line, "-ERR")) {
    return error(what, line.size() > 5 ? line.substr(5) : std::string(), refused);
  }
  return Status(
      ErrorKind::Protocol,
      "the POP3 server " + options_.peerName + " answered " + what + " with '" + printableText(line) + "'",
      "is this a POP3 port? (110 with STLS, 995 with TLS)");
}

Result<std::string> Session::command(const std::string& line, const std::string& what, bool secret,
                                     ErrorKind refused) {
  MIGRATE_RETURN_IF_ERROR(channel_.writeLine(line, secret));
  return reply(what, refused);
}

Result<std::vector<std::string>> Session::multiLine() {
  std::vector<std::string> lines;
  while (true) {
    MIGRATE_ASSIGN_OR_RETURN(std::string line, channel_.readLine());
    if (line == ".") {
      return lines;
    }
    if (!line.empty() && line[0] == '.') {
      line.erase(0, 1);
    }
    lines.push_back(std::move(line));
  }
}

Status Session::readGreeting() {
  Result<std::string> greeting = reply("the connection");
  if (!greeting.isOk()) {
    return greeting.status();
  }
  return readCapabilities();
}

Status Session::readCapabilities() {
  capabilities_.clear();
  MIGRATE_RETURN_IF_ERROR(channel_.writeLine("CAPA"));
  MIGRATE_ASSIGN_OR_RETURN(std::string line, channel_.readLine());
  if (!startsWith(line, "+OK")) {
    return Status::ok();  // no CAPA (RFC 1939 servers): no capabilities
  }
  MIGRATE_ASSIGN_OR_RETURN(std::vector<std::string> lines, multiLine());
  for (const std::string& l : lines) {
    const std::string u = upperAscii(l);
    const size_t sp = u.find(' ');
    const std::string name = u.substr(0, sp);
    capabilities_.insert(name);
    for (size_t p = sp; p != std::string::npos;) {
      const size_t next = u.find(' ', p + 1);
      capabilities_.insert(name + " " +
                           u.substr(p + 1, next == std::string::npos ? std::string::npos : next - p - 1));
      p = next;
    }
  }
  return Status::ok();
}

Status Session::startTls(const net::TlsOptions& tls) {
  if (!hasCapability("STLS")) {
    return Status(ErrorKind::Tls, "the POP3 server " + options_.peerName + " does not offer STLS",
                  "use its TLS port (995), or --source-tls none only on a trusted network");
  }
  MIGRATE_RETURN_IF_ERROR(command("STLS", "STLS").status());
  MIGRATE_RETURN_IF_ERROR(channel_.startTls(tls));
  return readCapabilities();
}

Status Session::login(const std::string& user, const std::string& password, const std::string& masterUser) {
  const std::string what = "the login as '" + user + "'";
  Result<std::string> r = std::string();
  if (!masterUser.empty() || hasCapability("SASL PLAIN")) {
    const std::string plain = (masterUser.empty() ? std::string() : user) + '\0' +
                              (masterUser.empty() ? user : masterUser) + '\0' + password;
    MIGRATE_RETURN_IF_ERROR(channel_.writeLine("AUTH PLAIN " + base64Encode(plain), true));
    r = reply(what, ErrorKind::Auth);
  } else {
    r = command("USER " + user, what, false, ErrorKind::Auth);
    if (r.isOk()) {
      r = command("PASS " + password, what, true, ErrorKind::Auth);
    }
  }
  if (r.isOk()) {
    return Status::ok();
  }
  if (r.status().kind() != ErrorKind::Auth) {
    return r.status();  // the connection failed, or the server is busy
  }
  return Status(ErrorKind::Auth, r.status().message(),
                "the POP3 login uses the IMAP login and password; check them, or give --source-pop3 no");
}

Result<std::vector<Listed>> Session::list() {
  Result<std::string> uidlOk = command("UIDL", "UIDL", false, ErrorKind::NotFound);
  if (!uidlOk.isOk()) {
    if (uidlOk.status().kind() != ErrorKind::NotFound) {
      return uidlOk.status();
    }
    return Status(ErrorKind::Protocol, "the POP3 server " + options_.peerName + " does not support UIDL",
                  "without UIDLs there is nothing to keep for POP3 clients; give --source-pop3 no");
  }
  MIGRATE_ASSIGN_OR_RETURN(std::vector<std::string> uidls, multiLine());
  MIGRATE_RETURN_IF_ERROR(command("LIST", "LIST").status());
  MIGRATE_ASSIGN_OR_RETURN(std::vector<std::string> sizes, multiLine());
  std::map<uint32_t, Listed> byNumber;
  for (const std::string& l : sizes) {
    Listed m;
    std::string size;
    if (!numberAndWord(l, m.number, size)) {
      return Status(ErrorKind::Protocol, "the POP3 server " + options_.peerName + " sent a bad LIST line '" +
                                             printableText(l) + "'");
    }
    m.size = std::strtoull(size.c_str(), nullptr, 10);
    byNumber[m.number] = m;
  }
  for (const std::string& l : uidls) {
    uint32_t number = 0;
    std::string uidl;
    if (!numberAndWord(l, number, uidl) || byNumber.count(number) == 0) {
      return Status(ErrorKind::Protocol, "the POP3 server " + options_.peerName + " sent a bad UIDL line '" +
                                             printableText(l) + "'");
    }
    byNumber[number].uidl = uidl;
  }
  std::vector<Listed> out;
  out.reserve(byNumber.size());
  for (auto& [number, m] : byNumber) {
    out.push_back(std::move(m));
  }
  return out;
}

Status Session::headers(const std::vector<uint32_t>& numbers,
                        const std::function<Status(uint32_t number, const std::string& header)>& onHeader) {
  const size_t window = hasCapability("PIPELINING") ? kPipelineWindow : 1;
  for (size_t start = 0; start < numbers.size(); start += window) {
    const size_t end = std::min(numbers.size(), start + window);
    std::string batch;
    for (size_t i = start; i < end; i++) {
      batch += "TOP " + std::to_string(numbers[i]) + " 0\r\n";
    }
    MIGRATE_RETURN_IF_ERROR(channel_.write(batch));
    for (size_t i = start; i < end; i++) {
      MIGRATE_RETURN_IF_ERROR(reply("TOP " + std::to_string(numbers[i])).status());
      MIGRATE_ASSIGN_OR_RETURN(std::vector<std::string> lines, multiLine());
      std::string header;
      for (const std::string& l : lines) {
        header += l + "\r\n";
      }
      MIGRATE_RETURN_IF_ERROR(onHeader(numbers[i], header));
    }
  }
  return Status::ok();
}

Status Session::quit() {
  return command("QUIT", "QUIT").status();
}

}  // namespace migrate::pop3
