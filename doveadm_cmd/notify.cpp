// sendNotification(): see notify.h. The submission settings (submission_host, submission_ssl,
// submission_timeout, sendmail_path, hostname) are Dovecot's own, as doveadm reads them
// (dovecot_adapter/doveadm_compat.h: startSubmission()).

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <exception>
#include <string>

#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/handles.h"
#include "notify.h"

namespace migrate::cmd {
namespace {

bool isAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) {
      return false;
    }
  }
  return true;
}

std::string base64(const std::string& in) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) {
      n |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    }
    if (i + 2 < in.size()) {
      n |= static_cast<unsigned char>(in[i + 2]);
    }
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

// Plain ASCII folded at spaces (RFC 5322 2.2.3), so that lines stay within 78 characters where
// the words allow it ("Subject: " takes the first 9). Empty when one word is too long for any
// line (a deep batch file path): the caller encodes the subject instead.
std::string foldAscii(const std::string& subject) {
  constexpr size_t kLine = 78;
  constexpr size_t kLongestWord = 900;  // RFC 5322's hard limit is 998
  std::string out;
  size_t lineLen = sizeof("Subject: ") - 1;
  size_t pos = 0;
  bool first = true;
  while (pos <= subject.size()) {
    const size_t space = std::min(subject.find(' ', pos), subject.size());
    const std::string word = subject.substr(pos, space - pos);
    if (word.size() > kLongestWord) {
      return "";
    }
    if (first) {
      out = word;
      lineLen += word.size();
      first = false;
    } else if (!word.empty() && lineLen + 1 + word.size() > kLine) {
      out += "\r\n " + word;  // the space that separated the words starts the folded line
      lineLen = 1 + word.size();
    } else {
      out += " " + word;
      lineLen += 1 + word.size();
    }
    pos = space + 1;
  }
  return out;
}

// One header value: plain ASCII folded at spaces, else RFC 2047 B-encoded words of at most 45
// bytes of UTF-8 (75 characters encoded, the RFC's limit), split between characters, folded.
std::string encodeSubject(std::string subject) {
  for (char& c : subject) {
    if (c == '\r' || c == '\n') {
      c = ' ';
    }
  }
  if (isAscii(subject)) {
    std::string folded = foldAscii(subject);
    if (!folded.empty() || subject.empty()) {
      return folded;
    }
  }
  constexpr size_t kChunk = 45;
  std::string out;
  size_t pos = 0;
  while (pos < subject.size()) {
    size_t end = std::min(pos + kChunk, subject.size());
    // back up to the start of a UTF-8 character (never splitting one across two words)
    while (end < subject.size() && end > pos + 1 &&
           (static_cast<unsigned char>(subject[end]) & 0xC0) == 0x80) {
      end--;
    }
    out += (out.empty() ? "" : "\r\n ") + std::string("=?UTF-8?B?") + base64(subject.substr(pos, end - pos)) +
           "?=";
    pos = end;
  }
  return out;
}

std::string crlfBody(const std::string& body) {
  std::string out;
  out.reserve(body.size() + body.size() / 40 + 2);
  for (size_t i = 0; i < body.size(); i++) {
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) {
      out += '\r';
    }
    out += body[i];
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) {
    out += "\r\n";
  }
  return out;
}

Status send(const std::string& to, const std::string& subject, const std::string& body) {
  smtp_address* rcpt = nullptr;
  const char* error = nullptr;
  if (smtp_address_parse_mailbox(pool_datastack_create(), to.c_str(),
                                 SMTP_ADDRESS_PARSE_FLAG_BRACKETS_OPTIONAL, &rcpt, &error) < 0 ||
      rcpt == nullptr || rcpt->domain == nullptr) {
    return Status(ErrorKind::Config, "cannot send the notification: '" + to + "' is not a mail address",
                  "give one address such as admin@example.org");
  }
  MIGRATE_ASSIGN_OR_RETURN(dovecot::Submission started, dovecot::startSubmission("postmaster"));
  smtp_submit* submit = started.submit;
  smtp_address* from = started.from;
  const std::string& via = started.via;
  smtp_submit_add_rcpt(submit, rcpt);
  ostream* out = smtp_submit_send(submit);
  const std::string message = "From: dovecot-migrate <" + std::string(smtp_address_encode(from)) +
                              ">\r\n"
                              "To: <" +
                              smtp_address_encode(rcpt) +
                              ">\r\n"
                              "Subject: " +
                              encodeSubject(subject) +
                              "\r\n"
                              "Date: " +
                              message_date_create(std::time(nullptr)) +
                              "\r\n"
                              "Auto-Submitted: auto-generated\r\n"
                              "MIME-Version: 1.0\r\n"
                              "Content-Type: text/plain; charset=UTF-8\r\n"
                              "Content-Transfer-Encoding: 8bit\r\n"
                              "\r\n" +
                              crlfBody(body);
  o_stream_nsend(out, message.data(), message.size());
  const int ret = smtp_submit_run(submit, &error);
  const std::string why = error != nullptr ? error : "unknown error";
  smtp_submit_deinit(&submit);
  if (ret > 0) {
    return Status::ok();
  }
  if (ret == 0) {
    return Status(ErrorKind::Protocol, "the notification to " + to + " was refused (" + via + "): " + why,
                  "check the address and the mail server's log");
  }
  return Status(ErrorKind::Connect, "cannot send the notification to " + to + " (" + via + "): " + why,
                "check submission_host / sendmail_path in dovecot.conf and that the mail server is up");
}

}  // namespace

void notifyRegisterSettings() {
  dovecot::registerSubmitSettings();
}

Status sendNotification(const std::string& to, const std::string& subject, const std::string& body) {
  try {
    dovecot::DataStackFrame frame;  // the t_ strings of send() live until here
    return send(to, subject, body);
  } catch (const std::exception& e) {
    return Status(ErrorKind::Internal, std::string("cannot send the notification: ") + e.what());
  }
}

}  // namespace migrate::cmd
