#pragma once
// Mail notifications from doveadm (e.g. `doveadm migrate batch --notify ADDRESS` at the end of a
// batch). Include nothing Dovecot-specific before this header: it is plain C++.
//
// sendNotification() submits one plain-text message through the server's own mail submission
// settings, exactly as Dovecot's LDA/LMTP send rejects and Sieve redirects: `submission_host`
// (SMTP, host[:port]; `submission_ssl` for TLS) when it is set, otherwise `sendmail_path`
// (default /usr/sbin/sendmail). It uses Dovecot's lib-smtp smtp-submit API and blocks until the
// message is accepted or refused (bounded by `submission_timeout`).
//
// - to: one RFC 5321 address ("admin@example.org"); anything else is a Config error, nothing sent.
// - subject: one line (line breaks are replaced by spaces); non-ASCII is MIME-encoded.
// - body: UTF-8 text, '\n' line ends (sent as CRLF).
// - From / envelope sender: the server's postmaster_address (Dovecot's own default when unset).
// Errors: Config (bad address), Connect/Timeout (temporary: the submission server or sendmail
// failed temporarily), Protocol (permanent refusal, e.g. unknown recipient). Each message names
// the recipient and the submission setting used, never the body.
// Threads: main thread only (it runs Dovecot's ioloop). Callable from any doveadm command's
// run() or deinit(); it needs no mail_user.

#include <string>

#include "common/status.h"

namespace migrate::cmd {

Status sendNotification(const std::string& to, const std::string& subject, const std::string& body);

// Called once from the module's init (doveadm_migrate_plugin_init), before doveadm reads its
// configuration: makes doveadm read the smtp_submit settings too. Without it, Dovecot's defaults
// apply (sendmail_path=/usr/sbin/sendmail).
void notifyRegisterSettings();

}  // namespace migrate::cmd
