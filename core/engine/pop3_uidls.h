#pragma once
// The old server's POP3 UIDLs for INBOX, read over its POP3 side and matched to the messages of
// its IMAP INBOX (engine/pop3_match.h): sizes first, headers only for what sizes cannot tell
// apart. Reads only, at both sides.

#include "common/status.h"
#include "engine/pop3_match.h"
#include "imap/session.h"
#include "pop3/session.h"

namespace migrate {

// `imap` and `pop3` are logged in as the same user. EXAMINEs INBOX at the IMAP side.
Result<Pop3Match> readPop3Uidls(imap::Session& imap, pop3::Session& pop3);

}  // namespace migrate
