#pragma once
// The lib-storage implementation of migrate::Sink for one mail_user. Main thread only.

#include <memory>
#include <string>

#include "dovecot_adapter/dovecot_api.h"
#include "engine/sink.h"

struct mail_user;

namespace migrate::dovecot {

// The sink does not own `user`; it must outlive the sink.
//
// Behaviour beyond engine/sink.h (each point is covered by tests/dovecot/test_sink_*.cpp, run
// against maildir, sdbox, mdbox and mbox):
// - listFolders(): private namespaces (aliases skipped), "*" pattern. selectable is false for
//   \Noselect / \NonExistent entries (e.g. maildir++ parents of nested folders). Special-use
//   folders declared in the namespace config (mailbox X { special_use = ... }) are listed even
//   when they do not exist yet (selectable=true, subscribed only for auto=subscribe):
//   prepareFolder() creates them. specialUse is parsed from the config's special_use string.
// - prepareFolder(): creates missing folders with their parents. uidValidity != 0 is used when
//   creating, and adopted by an existing folder only while it has never held mail (messages==0
//   and uidNext==1); a folder that held mail keeps its UIDVALIDITY even when empty now. Another
//   process creating the folder concurrently (MAIL_ERROR_EXISTS) is not an error (created=false).
// - save(): wantUid is kept when it is >= the folder's UIDNEXT at commit time, otherwise
//   lib-storage assigns a new UID above the highest UID of the batch. The GUID is stored only when
//   DestFolderStatus::haveSaveGuids (maildir, sdbox, mdbox; not mbox), otherwise it is silently
//   not stored, and guidsFrom() then returns Dovecot's own GUIDs. GUIDs must match
//   [A-Za-z0-9._-]{1,128} (Internal error otherwise). Keywords lib-storage rejects are dropped
//   (the valid ones are kept) and logged once per keyword. A failed save (Quota with Dovecot's
//   text, LocalStorage otherwise, naming the folder and source UID) leaves the batch usable:
//   commitBatch() commits the other messages of the batch.
// - commitBatch(): uids in save order; uidNext read from the index after the commit. A failed
//   commit has already discarded the batch (rollbackBatch() is then a no-op).
// - contentKeys(): size is the virtual (CRLF) size, i.e. IMAP RFC822.SIZE, comparable with the
//   source's RFC822.SIZE; messageId has line breaks removed and blanks trimmed.
// - Misuse (save/commit without beginBatch, beginBatch with a batch open) is an Internal error.
struct SinkOptions {
  // Make every batch that saved mail durable before commitBatch() returns, and every flag change
  // before updateFlags() returns, flushing only what they wrote (common/flush_set.h). Used when
  // the doveadm command has switched the user's mail_fsync from "optimized" to "never", so that
  // lib-storage does not fsync each message on its own: the engine still records a batch only
  // after it is on disk.
  // - save(): the message's file is held (a duplicate fd) and its writeback starts at once;
  // - commitBatch(): the held files' data first (written out, or fsynced off ext4/XFS), the
  //   commit, then the held files again (mdbox appends until the commit), the folder's index,
  //   uidlist and keyword files, and an fsync of each directory whose entries changed (the
  //   files' directories, maildir's cur/ and new/, the parents of a folder created in this
  //   run). A commit that saved nothing flushes nothing.
  // - Never the whole file system (syncfs waits for everybody's dirty pages), except for saves
  //   whose files the sink cannot see: mail_attachment_dir, a storage without local files, or
  //   no fd left to hold one.
  bool syncAfterCommit = false;
};
std::unique_ptr<Sink> makeDovecotSink(struct mail_user* user, const SinkOptions& options = {});

// Maps a lib-storage error (enum mail_error) to our ErrorKind: NOQUOTA -> Quota, NOTFOUND ->
// NotFound, everything else -> LocalStorage.
ErrorKind errorKindFromMailError(int mailError);

}  // namespace migrate::dovecot
