#pragma once
// Refuses a run whose source is this very server (after the DNS switch, the old name may point
// here): copying a mailbox into itself would double every message.

#include <string>

#include "common/status.h"
#include "engine/options.h"
#include "engine/sink.h"
#include "imap/session.h"

namespace migrate {

// A SourceIsSelf error when the newest INBOX message at the source (`inbox`: its STATUS) has
// the GUID and UID of a message in the local INBOX (Dovecot's X-GUID; other servers answer BAD,
// which is fine: they are not this Dovecot). OK otherwise, also when it cannot tell.
Status checkSourceIsSelf(imap::Session& session, Sink& sink, const imap::MailboxStatus& inbox,
                         const SourceOptions& src, const std::string& localUser);

}  // namespace migrate
