#include "imap/session.h"

#include "common/strings.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>

#include "common/base64.h"
#include "imap/command.h"
#include "net/deflate_transport.h"

namespace migrate::imap {

namespace {

constexpr size_t kReadChunk = size_t{256} * 1024;
constexpr size_t kStatusWindow = 64;  // STATUS commands in flight at once
constexpr size_t kSpareBodies = 4;

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

bool containsNoCase(const std::string& hay, const char* needle) {
  return upperAscii(hay).find(upperAscii(needle)) != std::string::npos;
}

size_t countStreamed(const std::vector<Value>& values) {
  size_t n = 0;
  for (const Value& v : values) {
    if (v.type == Value::Type::Streamed) {
      n++;
    } else if (v.type == Value::Type::List) {
      n += countStreamed(v.list);
    }
  }
  return n;
}

// Throttling as Gmail ([THROTTLED], [UNAVAILABLE]) and Office 365 ("Request is throttled") say it.
bool isThrottle(const Response& r) {
  return r.code == "THROTTLED" || r.code == "UNAVAILABLE" || containsNoCase(r.text, "throttl") ||
         containsNoCase(r.text, "too many");
}

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (out.size() >= 200) {
      out += "...";
      break;
    }
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  return out;
}

std::string extractHeaderValue(const std::string& headers, const char* name) {
  // Headers as returned by BODY[HEADER.FIELDS (X)]: "Message-ID: <a@b>\r\n\r\n", maybe folded.
  std::string u = upperAscii(headers);
  std::string key = upperAscii(name) + ":";
  size_t pos = 0;
  while (pos < u.size()) {
    if (u.compare(pos, key.size(), key) == 0) {
      size_t start = pos + key.size();
      size_t end = start;
      while (end < headers.size()) {
        if (headers[end] == '\n' &&
            (end + 1 >= headers.size() || (headers[end + 1] != ' ' && headers[end + 1] != '\t'))) {
          break;
        }
        end++;
      }
      std::string v = headers.substr(start, end - start);
      std::string out;
      for (char c : v) {
        if (c != '\r' && c != '\n') {
          out += c;
        }
      }
      size_t b = out.find_first_not_of(" \t");
      size_t e = out.find_last_not_of(" \t");
      return b == std::string::npos ? std::string() : out.substr(b, e - b + 1);
    }
    size_t nl = headers.find('\n', pos);
    if (nl == std::string::npos) {
      break;
    }
    pos = nl + 1;
  }
  return {};
}

}  // namespace

bool ListEntry::hasAttribute(const char* name) const {
  for (const std::string& a : attributes) {
    if (iequals(a, name)) {
      return true;
    }
  }
  return false;
}

bool parseInternalDate(const std::string& s, int64_t& unixTime, int& tzOffsetMinutes) {
  // "17-Jul-1996 02:44:25 -0700"; the day may be space-padded (" 7-Jul-1996").
  static const char* const kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0, zone = 0;
  char mon[4] = {0};
  char sign = 0;
  std::string t = s;
  size_t b = t.find_first_not_of(' ');
  if (b == std::string::npos) {
    return false;
  }
  t = t.substr(b);
  if (std::sscanf(t.c_str(), "%2d-%3c-%4d %2d:%2d:%2d %c%4d", &day, mon, &year, &hh, &mm, &ss, &sign,
                  &zone) != 8) {
    return false;
  }
  int month = -1;
  for (int i = 0; i < 12; i++) {
    if (std::tolower(static_cast<unsigned char>(mon[0])) == kMonths[i][0] &&
        std::tolower(static_cast<unsigned char>(mon[1])) == kMonths[i][1] &&
        std::tolower(static_cast<unsigned char>(mon[2])) == kMonths[i][2]) {
      month = i;
    }
  }
  if (month < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || (sign != '+' && sign != '-')) {
    return false;
  }
  struct tm tmv {};
  tmv.tm_year = year - 1900;
  tmv.tm_mon = month;
  tmv.tm_mday = day;
  tmv.tm_hour = hh;
  tmv.tm_min = mm;
  tmv.tm_sec = ss;
  int64_t utcAsLocal = static_cast<int64_t>(timegm(&tmv));
  int offset = (zone / 100) * 60 + zone % 100;
  if (sign == '-') {
    offset = -offset;
  }
  tzOffsetMinutes = offset;
  unixTime = utcAsLocal - static_cast<int64_t>(offset) * 60;
  return true;
}

// Streams BODY[] literals into MessageBody objects queued in the session.
class Session::BodySink : public LiteralSink {
 public:
  explicit BodySink(Session& s) : s_(s) {}
  Status append(const char* data, size_t len) override { return s_.bodies_.back()->append(data, len); }
  Status finish() override { return Status::ok(); }

 private:
  Session& s_;
};

Session::Session(std::unique_ptr<net::Transport> transport, SessionOptions options)
    : transport_(std::move(transport)),
      options_(std::move(options)),
      parser_(options_.limits, [this](const LiteralContext& ctx) { return claimLiteral(ctx); }),
      bodySink_(std::make_unique<BodySink>(*this)) {
  readBuf_.resize(kReadChunk);
}

Session::~Session() = default;

LiteralSink* Session::claimLiteral(const LiteralContext& ctx) {
  const std::string& item = ctx.itemName;
  if (item != "BODY[]" && item != "RFC822" && item != "BINARY[]" && item.rfind("BODY[]<", 0) != 0) {
    return nullptr;
  }
  std::unique_ptr<MessageBody> body;
  if (!spareBodies_.empty()) {
    body = std::move(spareBodies_.back());
    spareBodies_.pop_back();
  } else {
    body = std::make_unique<MessageBody>(options_.tempDir);
  }
  Status st = body->reset(ctx.size);
  bodies_.push_back(std::move(body));
  if (!st.isOk()) {
    pendingError_ = st;  // reported after this feed(); the bytes go to memory meanwhile
  }
  return bodySink_.get();
}

void Session::close() {
  if (!closed_) {
    closed_ = true;
    transport_->close();
  }
}

std::string Session::nextTag() {
  return "A" + std::to_string(++tagCounter_);
}

Status Session::writeTraced(const std::string& line, size_t start, size_t end, size_t redactFrom) {
  if (rawlog_ == nullptr) {
    return transport_->writeAll(line.data() + start, end - start);  // one write: one segment
  }
  if (start < redactFrom) {
    Status st = transport_->writeAll(line.data() + start, std::min(end, redactFrom) - start);
    if (!st.isOk() || end <= redactFrom) {
      return st;
    }
    start = redactFrom;
  }
  transport_->setRedact(true);
  Status st = transport_->writeAll(line.data() + start, end - start);
  transport_->setRedact(false);
  return st;
}

Status Session::sendTagged(const std::string& tag, const std::string& cmd, size_t traced) {
  if (closed_) {
    return Status(ErrorKind::Closed, "the connection to " + options_.peerName + " is closed");
  }
  // Synchronizing literals ("{N}\r\n") need the server's "+" before the rest is sent.
  std::string line = tag + " " + cmd + "\r\n";
  const size_t redactFrom = traced >= cmd.size() ? line.size() : tag.size() + 1 + traced;
  size_t start = 0;
  for (size_t cut : syncLiteralCuts(line)) {
    MIGRATE_RETURN_IF_ERROR(writeTraced(line, start, cut, redactFrom));
    start = cut;
    while (true) {
      MIGRATE_ASSIGN_OR_RETURN(Response r, readResponse());
      if (r.kind == Response::Kind::Continuation) {
        break;
      }
      if (r.kind == Response::Kind::Tagged) {
        queue_.push_front(std::move(r));
        return Status::ok();  // the caller's waitTagged() sees the refusal
      }
      MIGRATE_RETURN_IF_ERROR(handleCommonUntagged(r));
    }
  }
  return writeTraced(line, start, line.size(), redactFrom);
}

Result<Response> Session::readResponse() {
  // The bodies of the previously returned response are no longer referenced by the caller.
  for (auto& b : inUse_) {
    if (spareBodies_.size() < kSpareBodies) {
      spareBodies_.push_back(std::move(b));
    }
  }
  inUse_.clear();
  while (queue_.empty()) {
    if (closed_) {
      return Status(ErrorKind::Closed, closedMessage());
    }
    Result<size_t> n = transport_->readSome(readBuf_.data(), readBuf_.size());
    if (!n.isOk()) {
      closed_ = true;
      if (n.status().kind() == ErrorKind::Closed) {
        return Status(ErrorKind::Closed, closedMessage(), n.status().hint());
      }
      return n.status();
    }
    bytesReceived_ += n.value();
    scratch_.clear();
    Status st = parser_.feed(readBuf_.data(), n.value(), scratch_);
    if (!pendingError_.isOk()) {
      Status e = pendingError_;
      pendingError_ = Status::ok();
      close();
      return e;
    }
    if (!st.isOk()) {
      close();
      return st.withPrefix("unexpected response from " + options_.peerName);
    }
    for (Response& r : scratch_) {
      queue_.push_back(std::move(r));
    }
  }
  Response r = std::move(queue_.front());
  queue_.pop_front();
  size_t streamed = countStreamed(r.args);
  for (size_t i = 0; i < streamed && !bodies_.empty(); i++) {
    inUse_.push_back(std::move(bodies_.front()));
    bodies_.pop_front();
  }
  if (r.kind == Response::Kind::Untagged && r.status == "BYE") {
    byeText_ = r.text.empty() ? r.code : r.text;
    byeThrottle_ = isThrottle(r);
  }
  return r;
}

std::string Session::closedMessage() const {
  if (!byeText_.empty()) {
    return options_.peerName + " closed the connection: \"" + sanitize(byeText_) + "\"";
  }
  return options_.peerName + " closed the connection unexpectedly";
}

void Session::parseCapabilities(const std::string& text) {
  caps_.clear();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t sp = text.find(' ', pos);
    if (sp == std::string::npos) {
      sp = text.size();
    }
    if (sp > pos) {
      caps_.insert(upperAscii(text.substr(pos, sp - pos)));
    }
    pos = sp + 1;
  }
}

bool Session::hasCapability(const std::string& cap) const {
  return caps_.count(upperAscii(cap)) > 0;
}

Status Session::handleCommonUntagged(const Response& r) {
  if (r.kind != Response::Kind::Untagged) {
    return Status::ok();
  }
  if (r.status == "CAPABILITY") {
    std::string text;
    for (const Value& v : r.args) {
      text += (text.empty() ? "" : " ") + v.text;
    }
    parseCapabilities(text);
  } else if (!r.code.empty() && r.code == "CAPABILITY") {
    parseCapabilities(r.codeArgs);
  }
  return Status::ok();
}

Result<Response> Session::waitTagged(const std::string& tag, const UntaggedFn& onUntagged,
                                     const UntaggedFn& onContinuation) {
  while (true) {
    Result<Response> rr = readResponse();
    if (!rr.isOk()) {
      if (byeThrottle_) {
        return Status(ErrorKind::Throttled, closedMessage(),
                      "the server limits connections or traffic; run again later");
      }
      return rr.status();
    }
    Response& r = rr.value();
    if (r.kind == Response::Kind::Tagged) {
      if (r.tag != tag) {
        close();
        return Status(ErrorKind::Protocol, options_.peerName + " answered with unknown tag '" +
                                               sanitize(r.tag) + "' (expected " + tag + ")");
      }
      if (r.code == "CAPABILITY") {
        parseCapabilities(r.codeArgs);
      }
      return rr;
    }
    if (r.kind == Response::Kind::Continuation) {
      if (onContinuation) {
        MIGRATE_RETURN_IF_ERROR(onContinuation(r));
        continue;
      }
      close();
      return Status(ErrorKind::Protocol, options_.peerName + " sent an unexpected continuation request");
    }
    Status st = handleCommonUntagged(r);
    if (st.isOk() && onUntagged) {
      st = onUntagged(r);
    }
    if (!st.isOk()) {
      return st;
    }
  }
}

Status Session::taggedFailure(const Response& r, const std::string& what) const {
  std::string text = sanitize(r.text.empty() ? r.status : r.text);
  if (!r.code.empty()) {
    text = "[" + r.code + "] " + text;
  }
  if (isThrottle(r)) {
    return Status(ErrorKind::Throttled, options_.peerName + " is throttling us during " + what + ": " + text,
                  "the server limits traffic; run again later, with fewer migrations at once");
  }
  return Status(ErrorKind::Protocol, options_.peerName + " refused " + what + ": " + r.status + " " + text);
}

Result<Response> Session::simpleCommand(const std::string& cmd, const UntaggedFn& onUntagged) {
  std::string tag = nextTag();
  MIGRATE_RETURN_IF_ERROR(sendTagged(tag, cmd));
  return waitTagged(tag, onUntagged);
}

Status Session::readGreeting() {
  transport_->setIoTimeoutMs(options_.greetingTimeoutMs);
  Result<Response> rr = readResponse();
  transport_->setIoTimeoutMs(options_.ioTimeoutMs);
  if (!rr.isOk()) {
    if (rr.status().kind() == ErrorKind::Timeout) {
      return Status(ErrorKind::Timeout,
                    options_.peerName + " sent no IMAP greeting within " +
                        std::to_string(options_.greetingTimeoutMs / 1000) + " s",
                    options_.implicitTls
                        ? "the port may speak STARTTLS or plain IMAP: try --source-tls starttls"
                        : "the port may expect implicit TLS (usually 993): try --source-tls imaps");
    }
    if (rr.status().kind() == ErrorKind::Closed) {
      return Status(ErrorKind::Closed, options_.peerName + " closed the connection before greeting us",
                    "the server may be overloaded, or may refuse this client's address");
    }
    return rr.status();
  }
  const Response& r = rr.value();
  greeting_ = r.text;
  if (r.kind == Response::Kind::Untagged && r.status == "OK") {
    if (r.code == "CAPABILITY") {
      parseCapabilities(r.codeArgs);
    }
    return Status::ok();
  }
  if (r.kind == Response::Kind::Untagged && r.status == "PREAUTH") {
    loggedIn_ = true;
    return Status::ok();
  }
  if (r.kind == Response::Kind::Untagged && r.status == "BYE") {
    if (isThrottle(r)) {
      return Status(ErrorKind::Throttled,
                    options_.peerName + " refused the connection: \"" + sanitize(r.text) + "\"",
                    "the server limits connections; run again later");
    }
    return Status(ErrorKind::Closed,
                  options_.peerName + " refused the connection: \"" + sanitize(r.text) + "\"");
  }
  return Status(ErrorKind::Protocol, options_.peerName + " does not greet like an IMAP server",
                "is this the IMAP port? 993 is IMAPS, 143 is IMAP/STARTTLS");
}

Status Session::startRawlog(const std::string& dir) {
  if (rawlog_ != nullptr) {
    return Status::ok();
  }
  auto r = net::RawlogTransport::create(std::move(transport_), dir);
  if (!r.isOk()) {
    return r.status();
  }
  rawlog_ = r.value().get();
  transport_ = std::move(r).value();
  return Status::ok();
}

Status Session::enableCompression() {
  if (compressed_ || !hasCapability("COMPRESS=DEFLATE")) {
    return Status::ok();
  }
  MIGRATE_ASSIGN_OR_RETURN(Response r, simpleCommand("COMPRESS DEFLATE", nullptr));
  if (r.status != "OK") {
    // e.g. "NO [COMPRESSIONACTIVE]" (RFC 4978): the session goes on uncompressed.
    return Status::ok();
  }
  if (!queue_.empty() || !parser_.idle()) {
    // What follows the OK is already compressed: we cannot tell where the plain text ended.
    close();
    return Status(ErrorKind::Protocol, options_.peerName + " sent data after the COMPRESS OK");
  }
  auto wrap = [](std::unique_ptr<net::Transport> inner) -> Result<std::unique_ptr<net::Transport>> {
    auto d = net::DeflateTransport::create(std::move(inner));
    if (!d.isOk()) {
      return d.status();
    }
    return std::unique_ptr<net::Transport>(std::move(d).value());
  };
  Status st;
  if (rawlog_ != nullptr) {
    st = rawlog_->replaceInner(wrap);  // the trace stays outermost: it shows plain IMAP
  } else {
    auto w = wrap(std::move(transport_));
    if (w.isOk()) {
      transport_ = std::move(w).value();
    } else {
      st = w.status();
    }
  }
  if (!st.isOk()) {
    closed_ = true;
    return st;
  }
  compressed_ = true;
  return Status::ok();
}

Status Session::capability() {
  MIGRATE_ASSIGN_OR_RETURN(Response r, simpleCommand("CAPABILITY", nullptr));
  if (r.status != "OK") {
    return taggedFailure(r, "CAPABILITY");
  }
  return Status::ok();
}

Status Session::startTls(const net::TlsOptions& tls) {
  if (!caps_.empty() && !hasCapability("STARTTLS")) {
    return Status(ErrorKind::Tls, options_.peerName + " does not offer STARTTLS",
                  "use --source-tls imaps with port 993, or --source-tls none only on a trusted network");
  }
  MIGRATE_ASSIGN_OR_RETURN(Response r, simpleCommand("STARTTLS", nullptr));
  if (r.status != "OK") {
    return Status(ErrorKind::Tls, options_.peerName + " refused STARTTLS: " + sanitize(r.text),
                  "use --source-tls imaps with port 993");
  }
  if (!queue_.empty() || !parser_.idle()) {
    // Bytes after the OK before the handshake would be injected plaintext (CVE-2011-0411 style).
    close();
    return Status(ErrorKind::Protocol, options_.peerName + " sent data after the STARTTLS OK");
  }
  MIGRATE_RETURN_IF_ERROR(transport_->startTls(tls));
  caps_.clear();
  return capability();
}

// AUTHENTICATE <mech> with the initial response `ir` (base64): inline with SASL-IR, else after the
// server's "+". The response never reaches the wire trace. A tagged answer instead of "+" is left
// queued for the caller's waitTagged().
Status Session::sendAuthenticate(const std::string& tag, const std::string& mech, const std::string& ir) {
  const std::string command = "AUTHENTICATE " + mech;
  if (hasCapability("SASL-IR")) {
    return sendTagged(tag, command + " " + (ir.empty() ? std::string("=") : ir), command.size() + 1);
  }
  MIGRATE_RETURN_IF_ERROR(sendTagged(tag, command));
  Result<Response> c = readResponse();
  while (c.isOk() && c.value().kind == Response::Kind::Untagged) {
    c = readResponse();
  }
  if (!c.isOk()) {
    return c.status();
  }
  if (c.value().kind != Response::Kind::Continuation) {
    queue_.push_front(std::move(c).value());
    return Status::ok();
  }
  return writeTraced(ir + "\r\n", 0, ir.size() + 2, 0);
}

Status Session::login(const std::string& user, const std::string& password, const std::string& masterUser) {
  if (loggedIn_) {
    return Status::ok();
  }
  if (caps_.empty()) {
    MIGRATE_RETURN_IF_ERROR(capability());
  }
  if (hasCapability("LOGINDISABLED") && !transport_->isTls()) {
    return Status(ErrorKind::Auth, options_.peerName + " does not allow a login without TLS (LOGINDISABLED)",
                  "use --source-tls starttls or imaps");
  }
  std::string tag = nextTag();
  Status st;
  bool plain = hasCapability("AUTH=PLAIN");
  if (!masterUser.empty() && !plain) {
    return Status(ErrorKind::Auth,
                  options_.peerName + " does not offer AUTHENTICATE PLAIN, needed for a master-user login",
                  "log in as the user, or use the server's user*master login form as --source-user");
  }
  if (plain) {
    std::string authz = masterUser.empty() ? std::string() : user;
    std::string authc = masterUser.empty() ? user : masterUser;
    std::string ir = base64Encode(authz + std::string(1, '\0') + authc + std::string(1, '\0') + password);
    st = sendAuthenticate(tag, "PLAIN", ir);
  } else {
    bool nonSync = hasCapability("LITERAL+");
    const std::string command = "LOGIN ";
    st = sendTagged(tag, command + quoteString(user, nonSync) + " " + quoteString(password, nonSync),
                    command.size());
  }
  if (!st.isOk()) {
    return st;
  }
  MIGRATE_ASSIGN_OR_RETURN(Response r, waitTagged(tag, nullptr));
  const Response& resp = r;
  if (resp.status == "OK") {
    loggedIn_ = true;
    if (resp.code != "CAPABILITY") {
      caps_.clear();
      return capability();
    }
    return Status::ok();
  }
  std::string text = sanitize(resp.text);
  if (isThrottle(resp) && resp.code != "AUTHENTICATIONFAILED") {
    return Status(ErrorKind::Throttled, options_.peerName + " refused the login for now: " + text,
                  "the server limits logins; run again later");
  }
  std::string who =
      masterUser.empty() ? "'" + user + "'" : "'" + user + "' (master user '" + masterUser + "')";
  std::string hint =
      "check the password (it may have been changed at the old provider), that the login name is complete "
      "(often the full e-mail address), and that --source-host is the old server";
  if (resp.code == "AUTHORIZATIONFAILED" && !masterUser.empty()) {
    hint = "the master user may not log in as this user: check the source server's master passdb";
  } else if (resp.code == "UNAVAILABLE" || resp.code == "SERVERBUG") {
    return Status(ErrorKind::Throttled, options_.peerName + " could not log in " + who + " now: " + text,
                  "a temporary failure at the source server; run again later");
  }
  return Status(ErrorKind::Auth, "login as " + who + " failed at " + options_.peerName + ": " + text, hint);
}

namespace {

// The value of a top-level "key" of a flat JSON object, string or number; empty when absent.
// Enough for the error challenges of Gmail and Office 365, e.g.
// {"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}; not a JSON parser.
std::string jsonField(const std::string& json, const std::string& key) {
  const std::string quoted = "\"" + key + "\"";
  size_t colon = std::string::npos;
  for (size_t p = json.find(quoted); p != std::string::npos; p = json.find(quoted, p + 1)) {
    size_t q = json.find_first_not_of(" \t\r\n", p + quoted.size());
    if (q != std::string::npos && json[q] == ':') {
      colon = q;
      break;
    }
  }
  if (colon == std::string::npos) {
    return {};
  }
  size_t v = json.find_first_not_of(" \t\r\n", colon + 1);
  if (v == std::string::npos) {
    return {};
  }
  std::string out;
  if (json[v] == '"') {
    for (size_t i = v + 1; i < json.size() && json[i] != '"'; i++) {
      if (json[i] == '\\' && i + 1 < json.size()) {
        i++;
      }
      out += json[i];
    }
    return out;
  }
  size_t e = json.find_first_of(",} \t\r\n", v);
  return json.substr(v, e == std::string::npos ? std::string::npos : e - v);
}

// RFC 7628 / RFC 5801 saslname: ',' and '=' are escaped.
std::string saslName(const std::string& user) {
  std::string out;
  for (char c : user) {
    out += c == ',' ? std::string("=2C") : c == '=' ? std::string("=3D") : std::string(1, c);
  }
  return out;
}

// A server that echoes what it got must not put the token into our messages.
std::string withoutToken(std::string text, const std::string& token) {
  if (token.empty()) {
    return text;
  }
  for (size_t p = text.find(token); p != std::string::npos; p = text.find(token, p)) {
    text.replace(p, token.size(), "<token>");
  }
  return text;
}

}  // namespace

Status Session::loginOAuth(const std::string& user, const std::string& token) {
  oauthFailure_ = OAuthFailure();
  if (loggedIn_) {
    return Status::ok();
  }
  if (caps_.empty()) {
    MIGRATE_RETURN_IF_ERROR(capability());
  }
  const bool xoauth2 = hasCapability("AUTH=XOAUTH2");
  if (!xoauth2 && !hasCapability("AUTH=OAUTHBEARER")) {
    std::string offered;
    for (const std::string& c : caps_) {
      if (c.rfind("AUTH=", 0) == 0) {
        offered += (offered.empty() ? "" : ", ") + sanitize(c);
      }
    }
    return Status(ErrorKind::Auth,
                  "OAuth2 login as '" + user + "' is not possible at " + options_.peerName +
                      ": the server offers neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER (it offers " +
                      (offered.empty() ? std::string("no AUTHENTICATE mechanism") : offered) + ")",
                  "this server does not take OAuth2 access tokens: log in with a password "
                  "(--source-password-file) instead");
  }
  const std::string mech = xoauth2 ? "XOAUTH2" : "OAUTHBEARER";
  std::string payload;
  if (xoauth2) {
    payload = "user=" + user + "\x01" + "auth=Bearer " + token + "\x01\x01";
  } else {
    payload = "n,a=" + saslName(user) + ",\x01";
    if (!options_.host.empty()) {
      payload += "host=" + options_.host + "\x01";
    }
    if (options_.port != 0) {
      payload += "port=" + std::to_string(options_.port) + "\x01";
    }
    payload += "auth=Bearer " + token + "\x01\x01";
  }
  const std::string ir = base64Encode(payload);
  std::fill(payload.begin(), payload.end(), '\0');
  const std::string tag = nextTag();
  MIGRATE_RETURN_IF_ERROR(sendAuthenticate(tag, mech, ir));
  // A refused token gets a "+ <base64 JSON>" challenge first; the server sends its NO after our
  // answer: an empty line for XOAUTH2 (Google's and Microsoft's documentation), the dummy %x01
  // for OAUTHBEARER (RFC 7628 section 3.2.3).
  std::string challenge;
  bool answered = false;
  Result<Response> tagged = waitTagged(tag, nullptr, [&](const Response& r) -> Status {
    if (answered) {
      close();
      return Status(ErrorKind::Protocol,
                    options_.peerName + " sent a second challenge to AUTHENTICATE " + mech);
    }
    answered = true;
    std::string text = r.text;
    while (!text.empty() && text.back() == ' ') {
      text.pop_back();
    }
    if (!base64Decode(text, challenge)) {
      challenge.clear();
    }
    const std::string reply = xoauth2 ? std::string("\r\n") : base64Encode("\x01") + "\r\n";
    return writeTraced(reply, 0, reply.size(), 0);
  });
  if (!tagged.isOk()) {
    return tagged.status();
  }
  const Response& resp = tagged.value();
  if (resp.status == "OK") {
    loggedIn_ = true;
    if (resp.code != "CAPABILITY") {
      caps_.clear();
      return capability();
    }
    return Status::ok();
  }
  const std::string text = sanitize(withoutToken(resp.text, token));
  if ((isThrottle(resp) && resp.code != "AUTHENTICATIONFAILED") || resp.code == "UNAVAILABLE" ||
      resp.code == "SERVERBUG") {
    return Status(ErrorKind::Throttled, options_.peerName + " refused the login for now: " + text,
                  "the server limits logins or has a temporary failure; run again later");
  }
  oauthFailure_.refused = true;
  oauthFailure_.status = sanitize(withoutToken(jsonField(challenge, "status"), token));
  oauthFailure_.expired = oauthFailure_.status.empty() || oauthFailure_.status == "401" ||
                          oauthFailure_.status == "invalid_token";
  const std::string scope = sanitize(withoutToken(jsonField(challenge, "scope"), token));
  const std::string head = "OAuth2 login as '" + user + "' failed at " + options_.peerName + ": ";
  const std::string scopes =
      "(Gmail: https://mail.google.com/; Office 365: IMAP.AccessAsUser.All, or IMAP.AccessAsApp for an "
      "app-only token)";
  if (oauthFailure_.status.empty()) {
    // Office 365 sends no challenge, only "NO AUTHENTICATE failed."
    return Status(ErrorKind::Auth, head + text,
                  "the access token may be expired, issued for another account, or lack the IMAP scope " +
                      scopes + "; for Office 365 the mailbox must also allow IMAP for the app");
  }
  std::string message = head + "the server says status " + oauthFailure_.status;
  if (!scope.empty()) {
    message += " (scope " + scope + ")";
  }
  if (oauthFailure_.expired) {
    return Status(ErrorKind::Auth, message,
                  "the access token is expired or lacks the IMAP scope: get a new one "
                  "(--source-oauth2-token-command runs again automatically)");
  }
  return Status(ErrorKind::Auth, message,
                "the server refused the token: check that it was issued for '" + user +
                    "' with the IMAP scope " + scopes);
}

Status Session::logout() {
  if (closed_) {
    return Status::ok();
  }
  Result<Response> r = simpleCommand("LOGOUT", nullptr);
  close();
  if (!r.isOk() && r.status().kind() != ErrorKind::Closed) {
    return r.status();
  }
  return Status::ok();
}

Result<NamespaceEntry> Session::personalNamespace() {
  NamespaceEntry ns;
  if (!hasCapability("NAMESPACE")) {
    Result<Response> r = simpleCommand("LIST \"\" \"\"", [&ns](const Response& u) {
      if (u.status == "LIST" && u.args.size() >= 2 && u.args[1].type != Value::Type::Nil &&
          !u.args[1].text.empty()) {
        ns.delimiter = u.args[1].text[0];
      }
      return Status::ok();
    });
    if (!r.isOk()) {
      return r.status();
    }
    return ns;
  }
  bool found = false;
  Result<Response> r = simpleCommand("NAMESPACE", [&](const Response& u) {
    if (u.status != "NAMESPACE" || u.args.empty() || found) {
      return Status::ok();
    }
    const Value& personal = u.args[0];
    if (personal.type == Value::Type::List && !personal.list.empty() &&
        personal.list[0].type == Value::Type::List && personal.list[0].list.size() >= 2) {
      const Value& first = personal.list[0];
      ns.prefix = first.list[0].text;
      if (first.list[1].type != Value::Type::Nil && !first.list[1].text.empty()) {
        ns.delimiter = first.list[1].text[0];
      }
      found = true;
    }
    for (size_t n = 1; n < u.args.size() && n < 3; n++) {
      if (u.args[n].type != Value::Type::List) {
        continue;
      }
      for (const Value& e : u.args[n].list) {
        if (e.type == Value::Type::List && !e.list.empty() && !e.list[0].text.empty()) {
          ns.otherPrefixes.push_back(e.list[0].text);
        }
      }
    }
    return Status::ok();
  });
  if (!r.isOk()) {
    return r.status();
  }
  if (r.value().status != "OK") {
    return taggedFailure(r.value(), "NAMESPACE");
  }
  return ns;
}

Result<std::vector<ListEntry>> Session::list() {
  std::vector<ListEntry> out;
  std::string cmd = "LIST \"\" \"*\"";
  if (hasCapability("SPECIAL-USE") && hasCapability("LIST-EXTENDED")) {
    cmd += " RETURN (SPECIAL-USE)";
  }
  Result<Response> r = simpleCommand(cmd, [&out](const Response& u) {
    if (u.status != "LIST" || u.args.size() < 3) {
      return Status::ok();
    }
    ListEntry e;
    if (u.args[0].type == Value::Type::List) {
      for (const Value& a : u.args[0].list) {
        e.attributes.push_back(a.text);
      }
    }
    if (u.args[1].type != Value::Type::Nil && !u.args[1].text.empty()) {
      e.delimiter = u.args[1].text[0];
    }
    e.rawName = u.args[2].text;
    out.push_back(std::move(e));
    return Status::ok();
  });
  if (!r.isOk()) {
    return r.status();
  }
  if (r.value().status != "OK") {
    return taggedFailure(r.value(), "LIST");
  }
  return out;
}

Result<std::vector<std::string>> Session::lsub() {
  std::vector<std::string> out;
  Result<Response> r = simpleCommand("LSUB \"\" \"*\"", [&out](const Response& u) {
    if (u.status == "LSUB" && u.args.size() >= 3) {
      out.push_back(u.args[2].text);
    }
    return Status::ok();
  });
  if (!r.isOk()) {
    return r.status();
  }
  if (r.value().status != "OK") {
    return taggedFailure(r.value(), "LSUB");
  }
  return out;
}

namespace {

void applyStatusItems(const Value& list, MailboxStatus& st) {
  for (size_t i = 0; i + 1 < list.list.size(); i += 2) {
    const Value& k = list.list[i];
    const Value& v = list.list[i + 1];
    if (k.isAtom("MESSAGES")) {
      st.messages = static_cast<uint32_t>(v.number());
    } else if (k.isAtom("UIDNEXT")) {
      st.uidNext = static_cast<uint32_t>(v.number());
    } else if (k.isAtom("UIDVALIDITY")) {
      st.uidValidity = static_cast<uint32_t>(v.number());
    } else if (k.isAtom("HIGHESTMODSEQ")) {
      st.highestModSeq = v.number();
    }
  }
}

}  // namespace

Result<Session::StatusResult> Session::statusMany(const std::vector<std::string>& rawNames, bool withModSeq) {
  StatusResult res;
  res.statuses.resize(rawNames.size());
  res.errors.resize(rawNames.size());
  std::string items =
      withModSeq ? " (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)" : " (MESSAGES UIDNEXT UIDVALIDITY)";
  bool nonSync = hasCapability("LITERAL+");
  size_t next = 0;
  while (next < rawNames.size()) {
    size_t end = std::min(rawNames.size(), next + kStatusWindow);
    std::vector<std::string> tags;
    for (size_t i = next; i < end; i++) {
      tags.push_back(nextTag());
      MIGRATE_RETURN_IF_ERROR(sendTagged(tags.back(), "STATUS " + quoteString(rawNames[i], nonSync) + items));
    }
    // Servers answer in order: the untagged STATUS before tagged k belongs to command k, even
    // when the server spells the name differently (e.g. "inbox" -> "INBOX").
    for (size_t i = next; i < end; i++) {
      Result<Response> r = waitTagged(tags[i - next], [&](const Response& u) {
        if (u.status == "STATUS" && u.args.size() >= 2 && u.args[1].type == Value::Type::List) {
          applyStatusItems(u.args[1], res.statuses[i]);
        }
        return Status::ok();
      });
      if (!r.isOk()) {
        return r.status();
      }
      if (r.value().status != "OK") {
        res.errors[i] = taggedFailure(r.value(), "STATUS of '" + sanitize(rawNames[i]) + "'");
      }
    }
    next = end;
  }
  return res;
}

Result<MailboxStatus> Session::examine(const std::string& rawName) {
  MailboxStatus st;
  std::string cmd = "EXAMINE " + quoteString(rawName, hasCapability("LITERAL+"));
  if (hasCapability("CONDSTORE")) {
    cmd += " (CONDSTORE)";
  }
  Result<Response> r = simpleCommand(cmd, [&st](const Response& u) {
    if (u.status == "EXISTS" && u.hasNumber) {
      st.messages = u.number;
    } else if (u.status == "OK") {
      if (u.code == "UIDVALIDITY") {
        st.uidValidity = static_cast<uint32_t>(std::strtoul(u.codeArgs.c_str(), nullptr, 10));
      } else if (u.code == "UIDNEXT") {
        st.uidNext = static_cast<uint32_t>(std::strtoul(u.codeArgs.c_str(), nullptr, 10));
      } else if (u.code == "HIGHESTMODSEQ") {
        st.highestModSeq = std::strtoull(u.codeArgs.c_str(), nullptr, 10);
      }
    }
    return Status::ok();
  });
  if (!r.isOk()) {
    return r.status();
  }
  if (r.value().status != "OK") {
    Status f = taggedFailure(r.value(), "EXAMINE '" + sanitize(rawName) + "'");
    if (f.kind() == ErrorKind::Protocol) {
      return Status(ErrorKind::NotFound, f.message(),
                    "the folder may have been deleted or renamed at the source");
    }
    return f;
  }
  return st;
}

Status Session::uidFetch(uint32_t first, uint32_t last, const std::string& items, const MessageFn& onMessage,
                         const std::string& modifiers) {
  return fetchImpl(uidSet(first, last), first, items, onMessage, modifiers);
}

Status Session::uidFetchSet(const std::string& set, const std::string& items, const MessageFn& onMessage) {
  return fetchImpl(set, 1, items, onMessage, "");
}

Status Session::fetchImpl(const std::string& set, uint32_t first, const std::string& items,
                          const MessageFn& onMessage, const std::string& modifiers) {
  std::string cmd = "UID FETCH " + set + " (" + items + ")";
  if (!modifiers.empty()) {
    cmd += " " + modifiers;
  }
  MessageBody inlineBody(options_.tempDir);
  Result<Response> r = simpleCommand(cmd, [&](const Response& u) -> Status {
    if (u.status != "FETCH" || u.args.empty() || u.args[0].type != Value::Type::List) {
      return Status::ok();
    }
    FetchedMessage m;
    bool haveUid = false;
    bool bodyRequested = false;
    bool bodyMissing = false;
    const auto& l = u.args[0].list;
    size_t streamedIndex = 0;
    for (size_t i = 0; i + 1 < l.size(); i += 2) {
      const Value& k = l[i];
      const Value& v = l[i + 1];
      if (k.isAtom("UID")) {
        m.uid = static_cast<uint32_t>(v.number());
        haveUid = m.uid != 0;
      } else if (k.isAtom("FLAGS") && v.type == Value::Type::List) {
        std::vector<std::string> atoms;
        for (const Value& f : v.list) {
          atoms.push_back(f.text);
        }
        m.flags = parseFlags(atoms);
        m.hasFlags = true;
      } else if (k.isAtom("INTERNALDATE")) {
        m.hasInternalDate = parseInternalDate(v.text, m.internalDate, m.tzOffsetMinutes);
      } else if (k.isAtom("RFC822.SIZE")) {
        m.size = v.number();
        m.hasSize = true;
      } else if (k.isAtom("X-GUID")) {
        m.xGuid = v.text;
      } else if (k.isAtom("X-GM-LABELS") && v.type == Value::Type::List) {
        for (const Value& label : v.list) {
          m.gmLabels.push_back(label.text);
        }
        m.hasGmLabels = true;
      } else if (k.isAtom("X-GM-MSGID")) {
        m.gmMsgId = v.number();
      } else if (k.type == Value::Type::Atom &&
                 (upperAscii(k.text) == "BODY[]" || upperAscii(k.text) == "RFC822" ||
                  upperAscii(k.text) == "BINARY[]")) {
        bodyRequested = true;
        if (v.type == Value::Type::Streamed) {
          if (streamedIndex < inUse_.size()) {
            m.body = inUse_[streamedIndex].get();
          }
          streamedIndex++;
        } else if (v.type == Value::Type::String) {
          Status st = inlineBody.reset(v.text.size());
          if (st.isOk()) {
            st = inlineBody.append(v.text.data(), v.text.size());
          }
          if (!st.isOk()) {
            return st;
          }
          m.body = &inlineBody;
        } else {
          bodyMissing = true;  // NIL: the server could not give us the message
        }
      } else if (k.type == Value::Type::Atom && upperAscii(k.text).rfind("BODY[HEADER.FIELDS", 0) == 0) {
        m.messageId = extractHeaderValue(v.text, "Message-ID");
      } else if (k.type == Value::Type::Atom && upperAscii(k.text) == "BODY[HEADER]" &&
                 v.type == Value::Type::String) {
        m.header = v.text;
      }
    }
    if (!haveUid || m.uid < first) {
      return Status::ok();  // unsolicited flag update, or "n:*" returning the last message
    }
    (void)bodyMissing;
    (void)bodyRequested;
    return onMessage(m);
  });
  if (!r.isOk()) {
    return r.status();
  }
  if (r.value().status == "NO" && !isThrottle(r.value()) &&
      (r.value().code == "EXPUNGEISSUED" || containsNoCase(r.value().text, "expunged") ||
       containsNoCase(r.value().text, "could not be fetched"))) {
    // Messages deleted at the source while we fetch (Dovecot: "NO [EXPUNGEISSUED] Some messages
    // were expunged", Cyrus/Courier: "Some messages could not be FETCHed"): what was returned is
    // complete; the rest no longer exists.
    return Status::ok();
  }
  if (r.value().status != "OK") {
    return taggedFailure(r.value(), "UID FETCH");
  }
  return Status::ok();
}

}  // namespace migrate::imap
