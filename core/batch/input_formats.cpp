#include "batch/input_formats.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "common/strings.h"
#include "options/option_values.h"

namespace migrate::batch {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::string_view kPairsShape = "`login password`";
constexpr std::string_view kSemicolonShape = "local-user;remote-imap-host;remote-user;remote-password";
constexpr std::string_view kCsvHeader =
    "source_server,source_user,source_password,source_port,source_tls,target_user,target_password,"
    "create_mailbox";
// Longest value quoted in a message; the rest is cut ("...").
constexpr size_t kShownBytes = 60;

enum class Column {
  SourceServer,
  SourceUser,
  SourcePassword,
  SourcePort,
  SourceTls,
  TargetUser,
  TargetPassword,
  CreateMailbox,
};
constexpr std::array<std::string_view, 8> kColumnNames = {
    "source_server", "source_user", "source_password", "source_port",
    "source_tls",    "target_user", "target_password", "create_mailbox",
};
// Other names a provider's page gives a column (vshosting's CSV help calls the last column
// create_target_mailbox in its list, create_mailbox in its header line).
constexpr std::array<std::pair<std::string_view, Column>, 1> kColumnAliases = {{
    {"create_target_mailbox", Column::CreateMailbox},
}};
constexpr std::array<Column, 4> kRequiredColumns = {Column::SourceServer, Column::SourceUser,
                                                    Column::SourcePassword, Column::TargetUser};

void wipeAll(std::vector<std::string>& fields) {
  for (std::string& f : fields) {
    wipeSecret(f);
  }
  fields.clear();
}

bool isBlank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isBlank(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && isBlank(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

bool validUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + len > s.size()) {
      return false;
    }
    for (size_t k = 1; k < len; k++) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0u) != 0x80u) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Overlong forms, surrogates and code points above U+10FFFF.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

// A value as it may appear in a message: quoted, control bytes (and, when the value is not UTF-8,
// every byte above 0x7f) as \xNN, cut after kShownBytes. Never used for passwords.
std::string shown(std::string_view s) {
  const bool utf8 = validUtf8(s);
  std::string out = "\"";
  size_t i = 0;
  for (; i < s.size() && i < kShownBytes; i++) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
      static const char* const kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xfu];
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (i < s.size()) {
    // Do not end in the middle of a UTF-8 sequence.
    while (utf8 && !out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0u) == 0x80u) {
      out.pop_back();
    }
    if (utf8 && !out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) {
      out.pop_back();
    }
    out += "...";
  }
  out += '"';
  return out;
}

std::string plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// One physical line of the file, without its LF or CRLF.
struct Line {
  uint32_t number = 0;
  std::string_view text;
};

class LineReader {
 public:
  explicit LineReader(std::string_view content) : rest_(content) {
    if (rest_.substr(0, kBom.size()) == kBom) {
      rest_.remove_prefix(kBom.size());
    }
  }

  bool next(Line& line) {
    if (done_) {
      return false;
    }
    const size_t end = rest_.find('\n');
    std::string_view text = rest_.substr(0, end);
    if (end == std::string_view::npos) {
      done_ = true;
      // A file ending with a newline has no further (empty) line.
      if (text.empty()) {
        return false;
      }
    } else {
      rest_.remove_prefix(end + 1);
    }
    if (!text.empty() && text.back() == '\r') {
      text.remove_suffix(1);
    }
    // Files concatenated with cat keep each part's BOM.
    if (text.substr(0, kBom.size()) == kBom) {
      text.remove_prefix(kBom.size());
    }
    line.number = ++number_;
    line.text = text;
    return true;
  }

 private:
  std::string_view rest_;
  uint32_t number_ = 0;
  bool done_ = false;
};

bool skipped(std::string_view text) {
  const std::string_view t = trim(text);
  return t.empty() || t.front() == '#';
}

// The column a (lower-case) header name stands for: its own name or an alias.
std::optional<Column> columnNamed(std::string_view name) {
  const auto it = std::find(kColumnNames.begin(), kColumnNames.end(), name);
  if (it != kColumnNames.end()) {
    return static_cast<Column>(it - kColumnNames.begin());
  }
  for (const auto& [alias, column] : kColumnAliases) {
    if (alias == name) {
      return column;
    }
  }
  return std::nullopt;
}

// Whether a line starts like a CSV header: its text up to the first ',' or ';' (spaces and quotes
// around it ignored, any case) is a column name. Only the first field counts: a password further on
// may read "source_user".
bool looksLikeCsvHeader(std::string_view text) {
  std::string_view field = trim(text.substr(0, text.find_first_of(",;")));
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
    field = trim(field.substr(1, field.size() - 2));
  }
  return field.size() <= 32 && columnNamed(lowerAscii(field)).has_value();
}

bool looksLikeSemicolon(std::string_view text) {
  const std::string_view t = trim(text);
  const size_t blank = t.find_first_of(" \t");
  return t.substr(0, blank).find(';') != std::string_view::npos;
}

// RFC 4180 fields of one line. A field whose first non-blank character is '"' is quoted: it ends
// at the next lone '"', "" stands for one '"', and only blanks may follow before the separator.
// Unquoted fields are taken as they are (blanks and stray quotes included).
struct CsvError {
  enum Kind { None, Unterminated, TextAfterQuote } kind = None;
  size_t field = 0;
};

CsvError splitCsv(std::string_view line, char sep, std::vector<std::string>& fields,
                  std::vector<bool>& quoted) {
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    size_t j = i;
    while (j < n && isBlank(line[j])) {
      j++;
    }
    if (j < n && line[j] == '"') {
      std::string value;
      j++;
      bool closed = false;
      while (j < n) {
        if (line[j] == '"') {
          if (j + 1 < n && line[j + 1] == '"') {
            value += '"';
            j += 2;
            continue;
          }
          closed = true;
          j++;
          break;
        }
        value += line[j];
        j++;
      }
      if (!closed) {
        wipeSecret(value);
        return {CsvError::Unterminated, fields.size()};
      }
      while (j < n && isBlank(line[j])) {
        j++;
      }
      if (j < n && line[j] != sep) {
        wipeSecret(value);
        return {CsvError::TextAfterQuote, fields.size()};
      }
      fields.push_back(std::move(value));
      quoted.push_back(true);
      if (j >= n) {
        return {};
      }
      i = j + 1;
    } else {
      size_t end = line.find(sep, i);
      if (end == std::string_view::npos) {
        end = n;
      }
      fields.emplace_back(line.substr(i, end - i));
      quoted.push_back(false);
      if (end >= n) {
        return {};
      }
      i = end + 1;
    }
  }
}

// Field values are checked with these; each returns the problem text without "line N: ".
std::optional<std::string> checkName(const std::string& field, std::string_view value, bool allowSpaces,
                                     const std::string& what) {
  if (value.empty()) {
    return field + " is empty (" + what + ")";
  }
  if (!validUtf8(value)) {
    return field + " " + shown(value) +
           " is not valid UTF-8: save the file as UTF-8 (was it exported as Latin-1 or Windows-1252?)";
  }
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      if (c == '\t' && !allowSpaces) {
        return field + " " + shown(value) + " contains a tab";
      }
      if (c != '\t') {
        return field + " " + shown(value) + " contains a control character";
      }
    }
    if (c == ' ' && !allowSpaces) {
      return field + " " + shown(value) + " contains a space";
    }
  }
  return std::nullopt;
}

std::optional<std::string> checkHost(const std::string& field, std::string_view value, Format format) {
  if (value.empty()) {
    return field + " is empty (the old IMAP server's name or address)";
  }
  const size_t colon = value.find(':');
  if (colon != std::string_view::npos && value.find(':', colon + 1) == std::string_view::npos) {
    const std::string_view port = value.substr(colon + 1);
    if (!port.empty() && std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return field + " " + shown(value) + " contains a port: " +
             (format == Format::Csv
                  ? "put the port in source_port"
                  : "this format has no port; give it with --source-port for every line, or "
                    "use the CSV format for a port per line");
    }
  }
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80) {
      return field + " " + shown(value) + " is not ASCII: write an internationalized name in its xn-- form";
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
    if (!ok) {
      return field + " " + shown(value) + " is not a host name or IP address";
    }
  }
  return std::nullopt;
}

std::optional<std::string> checkPort(const std::string& field, std::string_view value,
                                     std::optional<uint16_t>& port) {
  if (value.empty()) {
    return std::nullopt;
  }
  const bool digits = value.size() <= 5 &&
                      std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
  uint32_t v = 0;
  if (digits) {
    for (const char c : value) {
      v = v * 10 + static_cast<uint32_t>(c - '0');
    }
  }
  if (!digits || v == 0 || v > 65535) {
    return field + " " + shown(value) + " is not a port (1-65535; empty: 993 for imaps, 143 otherwise)";
  }
  port = static_cast<uint16_t>(v);
  return std::nullopt;
}

std::optional<std::string> checkYesNo(const std::string& field, std::string_view value, bool& out) {
  const std::optional<bool> yes = value.empty() ? false : options::parseYesNo(value);
  if (!yes) {
    return field + " " + shown(value) +
           " is not a yes/no value (yes, true, on, 1, no, false, off, 0 or empty)";
  }
  out = *yes;
  return std::nullopt;
}

// source_tls: a TLS mode name, or a yes/no value as vshosting's CSV has it ("true / false value,
// whether you want (or must) use secure connection"), kept in `wanted` until the port is known.
std::optional<std::string> checkTls(const std::string& field, std::string_view value,
                                    std::optional<TlsMode>& mode, std::optional<bool>& wanted) {
  if (value.empty()) {
    return std::nullopt;
  }
  wanted = options::parseYesNo(value);
  if (wanted) {
    return std::nullopt;
  }
  Result<TlsMode> parsed = parseTlsMode(std::string(value));
  if (!parsed.isOk()) {
    return field + " " + shown(value) + " is not a TLS mode: " + parsed.status().hint() +
           ", or true/false; empty: imaps, or starttls when source_port is not 993";
  }
  mode = parsed.value();
  return std::nullopt;
}

// source_tls true: implicit TLS (imaps) on port 993 or with no port, STARTTLS on any other port;
// false: plaintext. Both verified as every connection is (true) or warned about (false).
TlsMode tlsModeFor(bool wanted, std::optional<uint16_t> port) {
  if (!wanted) {
    return TlsMode::None;
  }
  return !port || *port == 993 ? TlsMode::Imaps : TlsMode::StartTls;
}

// A CSV line without a header: exactly the documented columns, in their documented order
// (vshosting's page shows the header as the format and its example line without it). The
// first field must read as a host, the port, TLS and create_mailbox fields as such values.
bool looksLikeHeaderlessCsv(std::string_view text) {
  std::vector<std::string> f;
  std::vector<bool> quoted;
  const CsvError err = splitCsv(text, ',', f, quoted);
  bool yes = err.kind == CsvError::None && f.size() == kColumnNames.size();
  if (yes) {
    std::optional<uint16_t> port;
    std::optional<TlsMode> mode;
    std::optional<bool> wanted;
    bool create = false;
    yes = !checkHost("", trim(f[0]), Format::Csv) && !checkPort("", trim(f[3]), port) &&
          !checkTls("", trim(f[4]), mode, wanted) && !checkYesNo("", trim(f[7]), create);
  }
  wipeAll(f);
  return yes;
}

Format detectFromLine(std::string_view text) {
  if (looksLikeCsvHeader(text)) {
    return Format::Csv;
  }
  if (looksLikeHeaderlessCsv(text)) {
    return Format::Csv;
  }
  if (looksLikeSemicolon(text)) {
    return Format::Semicolon;
  }
  return Format::Pairs;
}

Format detectIn(std::string_view content) {
  LineReader reader(content);
  Line line;
  while (reader.next(line)) {
    if (!skipped(line.text)) {
      return detectFromLine(line.text.substr(0, kMaxLineBytes));
    }
  }
  return Format::Pairs;
}

// A spreadsheet's header row in a format without one: a user column named like a user column and
// a password named like a password column ("username password", "local-user;...;remote-password").
bool headerRow(std::string_view user, std::string_view password) {
  static const char* const kUsers[] = {"login",      "user",       "username",  "user name",
                                       "email",      "e-mail",     "mail",      "account",
                                       "local-user", "local_user", "localuser", "mailbox"};
  static const char* const kPasswords[] = {"password", "pass",     "passwd",          "pw",
                                           "pwd",      "secret",   "remote-password", "remote_password",
                                           "heslo",    "kennwort", "passwort"};
  const std::string u = lowerAscii(trim(user));
  const std::string p = lowerAscii(trim(password));
  return std::find(std::begin(kUsers), std::end(kUsers), u) != std::end(kUsers) &&
         std::find(std::begin(kPasswords), std::end(kPasswords), p) != std::end(kPasswords);
}

class Parser {
 public:
  Parser(std::string_view content, std::optional<Format> forced, bool keepValid)
      : content_(content), forced_(forced), keepValid_(keepValid) {}

  ParseResult run() {
    result_.format = forced_ ? *forced_ : detectIn(content_);
    if (content_.substr(0, 2) == "\xFF\xFE" || content_.substr(0, 2) == "\xFE\xFF") {
      add(0, "the file is UTF-16 (it starts with a UTF-16 byte order mark): save it as UTF-8");
      return finish();
    }
    LineReader reader(content_);
    Line line;
    bool anyLine = false;
    while (reader.next(line)) {
      anyLine = true;
      if (skipped(line.text)) {
        continue;
      }
      if (!lineUsable(line)) {
        if (firstData_ == 0) {
          firstData_ = line.number;
          // A CSV header we cannot read leaves nothing to read the other lines with.
          if (result_.format == Format::Csv) {
            return finish();
          }
        }
        dataLines_++;
        continue;
      }
      if (firstData_ == 0) {
        firstData_ = line.number;
        if (result_.format == Format::Csv) {
          if (!startCsv(line)) {
            return finish();
          }
          if (!headerless_) {
            continue;
          }
        }
      }
      dataLines_++;
      switch (result_.format) {
        case Format::Pairs:
          parsePairs(line);
          break;
        case Format::Csv:
          parseCsv(line);
          break;
        case Format::Semicolon:
          parseSemicolon(line);
          break;
      }
    }
    if (dataLines_ == 0) {
      if (result_.format == Format::Csv && firstData_ != 0) {
        add(0, "the file has the CSV header (line " + std::to_string(firstData_) + ") but no mailbox lines");
      } else if (!anyLine) {
        add(0, "the file is empty: expected one mailbox a line");
      } else {
        add(0, "the file has no mailbox lines, only blank lines and comments");
      }
    }
    return finish();
  }

 private:
  void add(uint32_t line, std::string message, bool fatal = true) {
    fatal_ = fatal_ || fatal;
    if (fatal) {
      fatalLines_.insert(line);
    }
    if (result_.problems.size() >= kMaxProblems) {
      hidden_++;
      hiddenFatal_ = hiddenFatal_ || fatal;
      return;
    }
    if (line != 0) {
      message = "line " + std::to_string(line) + ": " + message;
    }
    result_.problems.push_back({line, std::move(message), fatal});
  }

  ParseResult finish() {
    if (hidden_ > 0) {
      result_.problems.push_back({0,
                                  "... and " + plural(hidden_, "more problem", "more problems") +
                                      " not shown: fix the ones above and check the file again",
                                  hiddenFatal_});
    }
    if (fatal_ && keepValid_ && !fileLevelFatal()) {
      // parseKeepingValid(): only the lines with a fatal problem go.
      std::vector<Entry> kept;
      for (Entry& e : result_.entries) {
        if (fatalLines_.count(e.line) == 0) {
          kept.push_back(std::move(e));
        } else {
          wipeSecret(e.password);
        }
      }
      result_.entries.swap(kept);
    } else if (fatal_) {
      wipePasswords(result_.entries);
      result_.entries.clear();
    }
    return std::move(result_);
  }

  // A fatal problem of the file as a whole, or of the CSV header that every line is read with.
  bool fileLevelFatal() const {
    const bool header = result_.format == Format::Csv && !headerless_ && firstData_ != 0;
    return fatalLines_.count(0) != 0 || (header && fatalLines_.count(firstData_) != 0);
  }

  // Line-level checks common to every format.
  bool lineUsable(const Line& line) {
    if (line.text.size() > kMaxLineBytes) {
      add(line.number, std::to_string(line.text.size()) + " bytes long, more than the " +
                           std::to_string(kMaxLineBytes) + " a line may have (is this the right file?)");
      return false;
    }
    if (line.text.find('\0') != std::string_view::npos) {
      add(line.number, "contains a NUL byte (is this a text file? UTF-16 must be saved as UTF-8)");
      return false;
    }
    if (line.text.find('\r') != std::string_view::npos) {
      add(line.number,
          "contains a carriage return (CR) inside the line; lines end with LF or CRLF (old Mac line "
          "endings?)");
      return false;
    }
    return true;
  }

  std::string formatMismatch(Format looksLike) const {
    const std::string_view shape = looksLike == Format::Pairs ? kPairsShape : kSemicolonShape;
    std::string file;
    switch (result_.format) {
      case Format::Pairs:
        file = std::string(kPairsShape) + " format";
        break;
      case Format::Semicolon:
        file = std::string(kSemicolonShape) + " format";
        break;
      case Format::Csv:
        file = "CSV format";
        break;
    }
    return "this looks like a " + std::string(shape) + " line, but the file's first line (line " +
           std::to_string(firstData_) + ") is in the " + file + ": one file holds one format";
  }

  void parsePairs(const Line& line) {
    const std::string_view t = line.text.substr(line.text.find_first_not_of(" \t"));
    const size_t blank = t.find_first_of(" \t");
    const std::string_view login = t.substr(0, blank);
    if (login.find(';') != std::string_view::npos) {
      add(line.number, formatMismatch(Format::Semicolon));
      return;
    }
    const size_t pwStart = blank == std::string_view::npos ? t.size() : t.find_first_not_of(" \t", blank);
    if (pwStart == std::string_view::npos || pwStart >= t.size()) {
      std::string why = "login " + shown(login) + " has no password after it (expected " +
                        std::string(kPairsShape) + ", separated by spaces or tabs)";
      if (login.find(',') != std::string_view::npos) {
        why = "no password after " + shown(login) +
              ": this looks like CSV, and a CSV file starts with the header line " + std::string(kCsvHeader);
      } else if (login.find(':') != std::string_view::npos) {
        why = "no password after " + shown(login) +
              ": is ':' the separator? put a space or tab between login " + "and password";
      }
      add(line.number, why);
      return;
    }
    Entry e;
    e.line = line.number;
    if (headerRow(login, t.substr(pwStart))) {
      add(line.number, "this looks like a header row (" + shown(t) + "); the " + std::string(kPairsShape) +
                           " format has none: remove the line");
      return;
    }
    if (auto err = checkName("login", login, false, "the user to migrate")) {
      add(line.number, *err);
      return;
    }
    e.localUser = std::string(login);
    e.remoteUser = e.localUser;
    e.password = std::string(t.substr(pwStart));
    if (isBlank(e.password.back())) {
      add(line.number,
          "the password ends with a space or tab, which is kept as part of it: remove it if it is not part "
          "of "
          "the password",
          false);
    }
    accept(std::move(e));
  }

  void parseSemicolon(const Line& line) {
    std::array<std::string_view, 4> parts;
    size_t count = 0;
    std::string_view rest = line.text;
    while (count < 3) {
      const size_t semi = rest.find(';');
      if (semi == std::string_view::npos) {
        break;
      }
      parts[count++] = rest.substr(0, semi);
      rest.remove_prefix(semi + 1);
    }
    parts[count++] = rest;
    if (count < 4) {
      if (count == 1 && looksLikePairs(line.text)) {
        add(line.number, formatMismatch(Format::Pairs));
      } else {
        add(line.number, plural(count, "field", "fields") +
                             " separated by ';', expected 4: " + std::string(kSemicolonShape));
      }
      return;
    }
    Entry e;
    e.line = line.number;
    bool ok = true;
    auto check = [&](std::optional<std::string> err) {
      if (err) {
        add(line.number, *err);
        ok = false;
      }
    };
    const std::string_view local = trim(parts[0]);
    const std::string_view host = trim(parts[1]);
    const std::string_view remote = trim(parts[2]);
    if (headerRow(local, parts[3])) {
      add(line.number, "this looks like a header row (" + shown(line.text) + "); the " +
                           std::string(kSemicolonShape) + " format has none: remove the line");
      return;
    }
    check(checkName("local-user", local, false, "the Dovecot user to migrate into"));
    check(checkHost("remote-imap-host", host, Format::Semicolon));
    check(checkName("remote-user", remote, true, "the login at the old server"));
    if (parts[3].empty()) {
      check("remote-password is empty");
    }
    if (!ok) {
      return;
    }
    e.localUser = std::string(local);
    e.host = std::string(host);
    e.remoteUser = std::string(remote);
    e.password = std::string(parts[3]);
    warnBlanks(line.number, "remote-password", e.password);
    accept(std::move(e));
  }

  static bool looksLikePairs(std::string_view text) {
    const std::string_view t = trim(text);
    return t.find_first_of(" \t") != std::string_view::npos;
  }

  void warnBlanks(uint32_t line, const std::string& field, const std::string& password) {
    if (isBlank(password.front()) || isBlank(password.back())) {
      add(line,
          field +
              " starts or ends with a space or tab, which is kept as part of the password: remove it if it "
              "is not part of the password",
          false);
    }
  }

  std::string columnName(size_t index) const {
    if (index < columns_.size()) {
      return std::string(kColumnNames[static_cast<size_t>(columns_[index])]);
    }
    return "field " + std::to_string(index + 1);
  }

  // The first line of a CSV file: its header, or (without one) its first mailbox line.
  bool startCsv(const Line& line) {
    if (looksLikeCsvHeader(line.text) || !looksLikeHeaderlessCsv(line.text)) {
      return parseHeader(line);
    }
    headerless_ = true;
    result_.csvSeparator = ',';
    for (size_t i = 0; i < kColumnNames.size(); i++) {
      columns_.push_back(static_cast<Column>(i));
    }
    headerColumns_ = columns_.size();
    return true;
  }

  bool parseHeader(const Line& line) {
    const std::string_view t = line.text;
    result_.csvSeparator =
        t.find(',') == std::string_view::npos && t.find(';') != std::string_view::npos ? ';' : ',';
    if (!looksLikeCsvHeader(t)) {
      add(line.number, "a CSV file starts with the header line " + std::string(kCsvHeader) +
                           " (or, without it, has those 8 fields in that order); this line is " + shown(t));
      return false;
    }
    std::vector<std::string> names;
    std::vector<bool> quoted;
    const CsvError err = splitCsv(t, result_.csvSeparator, names, quoted);
    if (err.kind != CsvError::None) {
      add(line.number, "the CSV header has an unbalanced '\"' in column " + std::to_string(err.field + 1));
      return false;
    }
    bool ok = true;
    std::array<size_t, kColumnNames.size()> seen{};
    for (size_t i = 0; i < names.size(); i++) {
      const std::string name = lowerAscii(trim(names[i]));
      const std::optional<Column> column = columnNamed(name);
      if (name.empty()) {
        add(line.number,
            "column " + std::to_string(i + 1) + " of the CSV header is empty (a separator too many?)");
        ok = false;
        continue;
      }
      if (!column) {
        add(line.number, "unknown column " + shown(trim(names[i])) + " in the CSV header; the columns are " +
                             std::string(kCsvHeader));
        ok = false;
        continue;
      }
      const auto index = static_cast<size_t>(*column);
      if (seen[index] != 0) {
        add(line.number, "column " + name + " appears twice in the CSV header (columns " +
                             std::to_string(seen[index]) + " and " + std::to_string(i + 1) + ")");
        ok = false;
        continue;
      }
      seen[index] = i + 1;
      columns_.push_back(*column);
    }
    for (const Column c : kRequiredColumns) {
      if (seen[static_cast<size_t>(c)] == 0) {
        add(line.number, "the CSV header has no " + std::string(kColumnNames[static_cast<size_t>(c)]) +
                             " column (required: source_server, source_user, source_password, target_user)");
        ok = false;
      }
    }
    headerColumns_ = names.size();
    return ok;
  }

  // The header once more: every field names its column. (A password that happens to read
  // "source_user" is no header.)
  bool repeatsHeader(const std::vector<std::string>& fields) const {
    if (fields.size() != columns_.size()) {
      return false;
    }
    for (size_t i = 0; i < fields.size(); i++) {
      if (columnNamed(lowerAscii(trim(fields[i]))) != columns_[i]) {
        return false;
      }
    }
    return true;
  }

  void parseCsv(const Line& line) {
    // The rest of a field with a line break: the line before left a quote open and this one
    // closes it (an odd number of quotes).
    if (unterminatedLine_ != 0 && line.number == unterminatedLine_ + 1 &&
        std::count(line.text.begin(), line.text.end(), '"') % 2 == 1) {
      add(line.number, "the rest of line " + std::to_string(unterminatedLine_) +
                           ", whose quoted field continues here: a field cannot contain a line break");
      return;
    }
    std::vector<std::string> fields;
    std::vector<bool> quoted;
    const CsvError err = splitCsv(line.text, result_.csvSeparator, fields, quoted);
    Entry e;
    e.line = line.number;
    bool passwordQuoted = false;
    std::optional<bool> tlsWanted;
    const bool ok = csvShapeOk(line, fields, err) &&
                    readCsvFields(line.number, fields, quoted, e, passwordQuoted, tlsWanted);
    wipeAll(fields);
    if (!ok) {
      wipeSecret(e.password);
      return;
    }
    if (tlsWanted) {
      e.tlsMode = tlsModeFor(*tlsWanted, e.port);
    }
    if (!passwordQuoted) {
      warnBlanks(line.number, "source_password", e.password);
    }
    if (e.targetPasswordIgnored && !targetPasswordNoted_) {
      targetPasswordNoted_ = true;
      add(line.number,
          "target_password is ignored, here and on every other line that sets it: the Dovecot user logs in "
          "through Dovecot's own passdb, which this tool never changes",
          false);
    }
    accept(std::move(e));
  }

  // Whether the CSV line splits into one field per header column; else says what is wrong.
  bool csvShapeOk(const Line& line, const std::vector<std::string>& fields, const CsvError& err) {
    if (err.kind == CsvError::Unterminated) {
      unterminatedLine_ = line.number;
      add(line.number, columnName(err.field) +
                           ": the quoted field does not end on this line (a missing closing '\"'?); a field "
                           "cannot contain a line break");
      return false;
    }
    if (err.kind == CsvError::TextAfterQuote) {
      add(line.number, columnName(err.field) +
                           ": text after the closing '\"'; inside a quoted field write '\"' twice (\"\")");
      return false;
    }
    if (repeatsHeader(fields)) {
      add(line.number, headerless_
                           ? "a CSV header line after the first mailbox line (line " +
                                 std::to_string(firstData_) + "): move it to the top, or remove it"
                           : "a second CSV header line (the first is line " + std::to_string(firstData_) +
                                 "): were two files joined? remove this line");
      return false;
    }
    const std::string sep(1, result_.csvSeparator);
    if (fields.size() > headerColumns_) {
      const bool hasPassword =
          std::find(columns_.begin(), columns_.end(), Column::SourcePassword) != columns_.end();
      add(line.number, plural(fields.size(), "field", "fields") + ", but the header has " +
                           std::to_string(headerColumns_) + ": is there a '" + sep +
                           "' in an unquoted field" + (hasPassword ? ", such as source_password" : "") +
                           "? put that field in double quotes (\"pa" + sep +
                           "ss\"), writing a '\"' inside it twice");
      return false;
    }
    if (fields.size() < headerColumns_) {
      std::string why = plural(fields.size(), "field", "fields") + ", but the header has " +
                        std::to_string(headerColumns_) + ": " + columnName(fields.size());
      why += fields.size() + 1 == headerColumns_ ? " is missing" : " and the columns after it are missing";
      if (fields.size() == 1 && (looksLikeSemicolon(line.text) || looksLikePairs(line.text))) {
        why += "; " + formatMismatch(looksLikeSemicolon(line.text) ? Format::Semicolon : Format::Pairs);
      }
      add(line.number, why);
      return false;
    }
    return true;
  }

  // Reads each column into `e`; false (each problem said) when a value is wrong.
  bool readCsvFields(size_t lineNumber, const std::vector<std::string>& fields,
                     const std::vector<bool>& quoted, Entry& e, bool& passwordQuoted,
                     std::optional<bool>& tlsWanted) {
    bool ok = true;
    auto check = [&](std::optional<std::string> problem) {
      if (problem) {
        add(lineNumber, *problem);
        ok = false;
      }
    };
    for (size_t i = 0; i < fields.size(); i++) {
      const std::string name = columnName(i);
      const std::string_view value = trim(fields[i]);
      switch (columns_[i]) {
        case Column::SourceServer:
          check(checkHost(name, value, Format::Csv));
          e.host = std::string(value);
          break;
        case Column::SourceUser:
          check(checkName(name, value, true, "the login at the old server"));
          e.remoteUser = std::string(value);
          break;
        case Column::SourcePassword:
          if (fields[i].empty()) {
            check(name + " is empty");
          }
          e.password = fields[i];
          passwordQuoted = quoted[i];
          break;
        case Column::SourcePort:
          check(checkPort(name, value, e.port));
          break;
        case Column::SourceTls:
          check(checkTls(name, value, e.tlsMode, tlsWanted));
          break;
        case Column::TargetUser:
          check(checkName(name, value, false, "the Dovecot user to migrate into"));
          e.localUser = std::string(value);
          break;
        case Column::TargetPassword:
          e.targetPasswordIgnored = !fields[i].empty();
          break;
        case Column::CreateMailbox:
          check(checkYesNo(name, value, e.createMailbox));
          break;
      }
    }
    return ok;
  }

  // Duplicates compare case-insensitively (ASCII): Dovecot lowercases user names by default
  // (auth_username_format = %Lu), IMAP servers mostly ignore the case of logins, and message GUIDs
  // depend on the login's spelling, so "Bob" and "bob" twice would copy the mail twice.
  void accept(Entry e) {
    const auto key = std::make_tuple(lowerAscii(e.localUser), lowerAscii(e.host), lowerAscii(e.remoteUser));
    const auto dup = seen_.find(key);
    if (dup != seen_.end()) {
      const Entry& first = result_.entries[dup->second];
      std::string what = e.localUser;
      if (!e.host.empty() || e.remoteUser != e.localUser) {
        what += " from " + e.remoteUser + (e.host.empty() ? std::string() : " at " + e.host);
      }
      const bool sameSpelling = first.localUser == e.localUser && first.remoteUser == e.remoteUser;
      add(e.line, "duplicate of line " + std::to_string(first.line) + " (" + shown(what) +
                      (sameSpelling ? "" : ", which differs from it only in upper/lower case") +
                      "): remove one of the two lines");
      wipeSecret(e.password);
      return;
    }
    seen_.emplace(key, result_.entries.size());
    const auto target = targets_.find(lowerAscii(e.localUser));
    if (target != targets_.end()) {
      add(e.line,
          shown(e.localUser) + " is also the target of line " + std::to_string(target->second) +
              " (another source account): both accounts are merged into the same mailbox",
          false);
    } else {
      targets_.emplace(lowerAscii(e.localUser), e.line);
    }
    result_.entries.push_back(std::move(e));
  }

  std::string_view content_;
  std::optional<Format> forced_;
  bool keepValid_ = false;
  std::set<uint32_t> fatalLines_;  // lines with a fatal problem (0: the file)
  ParseResult result_;
  uint32_t firstData_ = 0;  // line number of the first line that is not blank or a comment
  size_t dataLines_ = 0;    // lines after the CSV header that are not blank or comments
  std::vector<Column> columns_;
  size_t headerColumns_ = 0;
  bool headerless_ = false;  // a CSV file whose first line is a mailbox line (documented columns)
  bool targetPasswordNoted_ = false;
  uint32_t unterminatedLine_ = 0;  // the last line whose quoted field did not end
  bool fatal_ = false;
  size_t hidden_ = 0;
  bool hiddenFatal_ = false;
  // (local user, host, remote user), lowercased -> index in result_.entries
  std::map<std::tuple<std::string, std::string, std::string>, size_t> seen_;
  std::map<std::string, uint32_t> targets_;
};

bool needsQuotes(const std::string& s, char sep) {
  return s.find_first_of(std::string("\"") + sep) != std::string::npos ||
         (!s.empty() && (isBlank(s.front()) || isBlank(s.back())));
}

std::string csvField(const std::string& s, char sep, bool alwaysQuote) {
  if (!alwaysQuote && !needsQuotes(s, sep)) {
    return s;
  }
  std::string out = "\"";
  for (const char c : s) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  out += '"';
  return out;
}

bool startsLikeComment(const std::string& s) {
  return s.empty() || s.front() == '#' || isBlank(s.front()) || s.compare(0, kBom.size(), kBom) == 0;
}

}  // namespace

Result<Format> parseFormatName(const std::string& name) {
  const std::string v = lowerAscii(trim(name));
  if (v == "pairs" || v == "lines" || v == "txt") {
    return Format::Pairs;
  }
  if (v == "csv") {
    return Format::Csv;
  }
  if (v == "semicolon" || v == "ssv") {
    return Format::Semicolon;
  }
  return Status(ErrorKind::Config, "unknown batch file format '" + name + "'",
                "use pairs (`login password` lines), csv (with the source_server,... header) or semicolon "
                "(local-user;remote-imap-host;remote-user;remote-password), or leave it out to detect it");
}

const char* formatName(Format format) {
  switch (format) {
    case Format::Pairs:
      return "pairs";
    case Format::Csv:
      return "csv";
    case Format::Semicolon:
      return "semicolon";
  }
  return "pairs";
}

bool ParseResult::ok() const {
  return !entries.empty() &&
         std::none_of(problems.begin(), problems.end(), [](const Problem& p) { return p.fatal; });
}

Format detectFormat(const std::string& content) {
  return detectIn(content);
}

ParseResult parse(const std::string& content, std::optional<Format> forced) {
  return Parser(content, forced, false).run();
}

ParseResult parseKeepingValid(const std::string& content, std::optional<Format> forced) {
  return Parser(content, forced, true).run();
}

std::optional<std::string> serialize(Format format, const std::vector<Entry>& entries) {
  std::string out;
  const char sep = ',';
  if (format == Format::Csv) {
    out += std::string(kCsvHeader) + "\n";
  }
  for (const Entry& e : entries) {
    switch (format) {
      case Format::Pairs:
        if (!e.host.empty() || e.port || e.tlsMode || e.createMailbox || e.remoteUser != e.localUser ||
            startsLikeComment(e.localUser) || e.localUser.find_first_of(" \t;") != std::string::npos ||
            e.password.empty() || isBlank(e.password.front()) || headerRow(e.localUser, e.password)) {
          return std::nullopt;
        }
        out += e.localUser + " " + e.password + "\n";
        break;
      case Format::Semicolon:
        if (e.host.empty() || e.port || e.tlsMode || e.createMailbox || startsLikeComment(e.localUser) ||
            headerRow(e.localUser, e.password) ||
            (e.localUser + e.host + e.remoteUser).find(';') != std::string::npos) {
          return std::nullopt;
        }
        out += e.localUser + ";" + e.host + ";" + e.remoteUser + ";" + e.password + "\n";
        break;
      case Format::Csv:
        if (e.host.empty()) {
          return std::nullopt;
        }
        out += csvField(e.host, sep, false) + sep + csvField(e.remoteUser, sep, false) + sep +
               csvField(e.password, sep, true) + sep + (e.port ? std::to_string(*e.port) : std::string()) +
               sep + (e.tlsMode ? tlsModeName(*e.tlsMode) : "") + sep + csvField(e.localUser, sep, false) +
               sep + sep + (e.createMailbox ? "1" : "0") + "\n";
        break;
    }
  }
  if (detectFormat(out) != format) {
    return std::nullopt;
  }
  return out;
}

void wipePasswords(std::vector<Entry>& entries) {
  for (Entry& e : entries) {
    wipeSecret(e.password);
  }
}

}  // namespace migrate::batch
