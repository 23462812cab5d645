#pragma once
// Where the tool keeps a user's files: the per-account state (engine/state.h), the run status
// (engine/run_status.h) and the first-login lock and log. They are files named
// dovecot-migrate.* (kStateFilePrefix) in the control directory of the user's INBOX, next to
// Dovecot's own dovecot-uidlist / dovecot.index files:
//   maildir:~/Maildir (Maildir++ or LAYOUT=fs)  ~/Maildir
//   maildir:~ (home = mail root)                ~
//   sdbox:~/sdbox, mdbox:~/mdbox                ~/sdbox/mailboxes/INBOX/dbox-Mails
//   mbox:~/mail:INBOX=/var/mail/%u              ~/mail/.imap/INBOX
//   ...:CONTROL=/path                           where Dovecot puts INBOX's control files there
// `doveadm mailbox path -t control -u USER INBOX` prints it. No mailbox list shows a file there
// as a folder under any layout (Maildir++ lists only ".name" directories, LAYOUT=fs and dbox
// only directories, mbox never looks into .imap), and a user cannot delete INBOX. A directory
// could not do the same: LAYOUT=fs lists every directory beside cur/new/tmp as a child of INBOX.
//
// Versions before this one used <home>/.migrate/, which Maildir++ with the home as its mail root
// (mail_location = maildir:~) lists as a folder "migrate". The first run that resolves the
// location moves those files here (adoptLegacyState); until then the run status is read there.
//
// Main thread only (lib-storage). Nothing here logs a password: these files hold none.

#include <optional>
#include <string>

#include "common/status.h"
#include "engine/run_status.h"

struct mail_user;

namespace migrate::dovecot {

// The INBOX control directory of `user`, for a run: with create it is made if missing (INBOX is
// opened, which creates it as any login would); either way the files of an earlier version are
// moved in when both places exist.
Result<std::string> stateDirectory(struct mail_user* user, bool create);

// The same path for readers (status, stop, the first-login check): nothing is created, moved or
// even looked at.
Result<std::string> stateDirectoryPath(struct mail_user* user);

// <home>/.migrate, the place of versions before this one; empty when the user has no home.
std::string legacyStateDirectory(struct mail_user* user);

// Moves the tool's files from `legacy` into `dir` (renamed to their dovecot-migrate.* names;
// a file already at the new place wins), then removes `legacy` if nothing of the user's is left
// in it. Busy when a run of an older version still holds one of the old state locks.
Status adoptLegacyState(const std::string& legacy, const std::string& dir);

// The run status at `dir`, else the one at `legacy` (not moved); nullopt when neither exists.
Result<std::optional<RunStatus>> readRunStatusOrLegacy(const std::string& dir, const std::string& legacy);

}  // namespace migrate::dovecot
