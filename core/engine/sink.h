#pragma once
// The destination as the engine sees it. plugin/ implements it over lib-storage; tests may
// implement it in memory. All calls happen on one thread (lib-storage is not thread-safe).
// Folder names here are destination names in UTF-8 with the destination's separator.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "engine/message.h"
#include "engine/sieve_store.h"
#include "mail/special_use.h"

namespace migrate {

struct DestFolder {
  std::string name;
  uint8_t specialUse = kSpecialNone;
  bool subscribed = false;
  bool selectable = true;
};

struct DestFolderStatus {
  bool created = false;  // prepareFolder() created it just now
  uint32_t uidValidity = 0;
  uint32_t uidNext = 0;
  uint32_t messages = 0;
  bool haveSaveGuids = true;  // the storage keeps GUIDs given at save time (maildir, dbox)
  std::string mailboxGuid;    // hex
};

struct PrepareFolderOptions {
  bool create = true;        // create (with parents) if missing
  uint32_t uidValidity = 0;  // when creating, or when the folder exists but is empty and has
                             // never held mail (uidNext == 1): use this UIDVALIDITY (0: any)
  bool subscribe = false;    // subscribe it (never unsubscribes)
};

struct QuotaInfo {
  bool limited = false;  // false: no quota (or no quota plugin)
  uint64_t usedBytes = 0;
  uint64_t limitBytes = 0;
  std::string root;              // quota root name for messages
  bool messagesLimited = false;  // a message-count rule (quota_rule = *:messages=N)
  uint64_t usedMessages = 0;
  uint64_t limitMessages = 0;
};

// Identity of a message independent of UIDs, for matching after a UIDVALIDITY change.
struct ContentKey {
  std::string messageId;  // the Message-ID header as is ("" if none)
  int64_t internalDate = 0;
  uint64_t size = 0;  // virtual size (CRLF line ends), comparable with RFC822.SIZE
  // Where the key came from (contentKeys() fills them; ignored by ==).
  uint32_t uid = 0;
  std::string guid;
  bool operator==(const ContentKey& o) const {
    return messageId == o.messageId && internalDate == o.internalDate && size == o.size;
  }
};

// The destination messages changed since a modseq (engine/dest_changes.h).
struct DestChanges {
  uint64_t highestModSeq = 0;  // the folder's HIGHESTMODSEQ now
  std::vector<uint32_t> uids;  // messages whose modseq is above the one asked for, ascending
};

// A destination message as the deletion pass sees it (engine/deletion_sync.h).
struct DestCopy {
  uint32_t uid = 0;
  std::string guid;
  uint64_t modSeq = 0;
  ContentKey key;  // Message-ID, INTERNALDATE and virtual size
};

// Moves a copy made by this tool to the folder where the source moved its message: it becomes
// that folder's copy of the source message (its GUID and flags), so later runs recognise it.
struct MoveRequest {
  std::string from;  // destination folder holding the copy
  uint32_t uid = 0;  // the copy's UID there ...
  std::string guid;  // ... and GUID (checked: nothing else is moved)
  // Not moved when its modseq is above this (changed here since this tool's last write); 0: no
  // check.
  uint64_t unchangedSince = 0;
  std::string to;            // destination folder of the source message's new folder (must exist)
  std::string newGuid;       // the GUID of the source message in its new folder (engine/guid.h)
  MessageFlags flags;        // its flags there
  int64_t internalDate = 0;  // and INTERNALDATE (the source's, with its zone)
  int tzOffsetMinutes = 0;
  uint32_t wantUid = 0;
};

struct ContentKeyHash {
  size_t operator()(const ContentKey& k) const {
    return std::hash<std::string>()(k.messageId) ^ (std::hash<int64_t>()(k.internalDate) * 31) ^
           (std::hash<uint64_t>()(k.size) * 131);
  }
};

// A destination message as `migrate verify` reads it: where it is, what it is, and its flags.
struct DestMessage {
  ContentKey key;  // with uid and guid
  MessageFlags flags;
};

struct FlagUpdate {
  std::string guid;      // the message's GUID (as saved by this tool)
  uint32_t uidHint = 0;  // its likely destination UID (0: unknown)
  MessageFlags flags;    // set exactly these flags/keywords
};

// The old server's POP3 UIDL for a message saved earlier without one (engine/pop3_carry.h).
struct Pop3UidlUpdate {
  std::string guid;      // the message's GUID (as saved by this tool)
  uint32_t uidHint = 0;  // its likely destination UID (0: unknown)
  std::string uidl;
};

class Sink {
 public:
  virtual ~Sink() = default;

  virtual char separator() const = 0;
  // Characters the destination cannot keep in a folder name besides the separator (e.g. '.' on
  // Maildir++, whose directories use it as their own separator).
  virtual std::string unsafeNameChars() const { return {}; }
  // Directory of the migration state of this user (files named dovecot-migrate.*: engine/state_files.h),
  // e.g. the INBOX control directory (dovecot_adapter/state_location.h).
  // With create=false nothing is created (dry runs): the path is returned whether it exists or not.
  virtual Result<std::string> stateDir(bool create) = 0;
  // Directory for spooling large message bodies.
  virtual std::string tempDir() const = 0;

  virtual Result<std::vector<DestFolder>> listFolders() = 0;
  virtual Result<DestFolderStatus> prepareFolder(const std::string& name,
                                                 const PrepareFolderOptions& options) = 0;
  // Status without creating; NotFound if missing.
  virtual Result<DestFolderStatus> folderStatus(const std::string& name) = 0;
  virtual Status setSubscribed(const std::string& name) = 0;

  // GUID -> UID of the messages in `name` with UID >= minUid.
  virtual Result<std::unordered_map<std::string, uint32_t>> guidsFrom(const std::string& name,
                                                                      uint32_t minUid) = 0;
  // Content keys (with UID and GUID) of the messages in `name` with UID >= minUid: to recognise
  // copies after a UIDVALIDITY change, in storages without GUIDs, and messages whose commit was
  // cut short (a maildir file renamed into cur/ before its GUID reached dovecot-uidlist).
  virtual Result<std::vector<ContentKey>> contentKeys(const std::string& name, uint32_t minUid) = 0;

  // Every message of `name` with its flags, for `migrate verify`: read-only (the folder is opened
  // read-only; nothing is created or changed). NotFound when the folder does not exist.
  virtual Result<std::vector<DestMessage>> listMessages(const std::string& name) = 0;
  // For each of `uids` that `name` holds: the BodyDigest (engine/body_digest.h) of its bytes.
  // UIDs not there (expunged meanwhile) are left out. Read-only like listMessages().
  virtual Result<std::unordered_map<uint32_t, std::string>> bodyDigests(
      const std::string& name, const std::vector<uint32_t>& uids) = 0;

  // Saving happens in batches: begin, save..., commit. A failed save (Quota, LocalStorage) leaves
  // the batch usable: commitBatch() then commits the messages saved before the failure.
  virtual Status beginBatch(const std::string& name) = 0;
  virtual Status save(const IncomingMessage& message) = 0;
  struct CommitResult {
    uint32_t uidValidity = 0;
    uint32_t uidNext = 0;        // the folder's UIDNEXT after the commit
    std::vector<uint32_t> uids;  // the UIDs assigned, in save order
  };
  virtual Result<CommitResult> commitBatch() = 0;
  virtual void rollbackBatch() = 0;

  // Sets flags on messages of `name` that this tool saved (found by GUID). Messages not found
  // are skipped (the user may have deleted them). Returns how many changed; their UIDs go to
  // `changedUids` when given.
  virtual Result<uint32_t> updateFlags(const std::string& name, const std::vector<FlagUpdate>& updates,
                                       std::vector<uint32_t>* changedUids = nullptr) = 0;

  // --sync-deletions (engine/deletion_sync.h, engine/dest_changes.h). Folders must exist
  // (NotFound otherwise).
  // The folder's HIGHESTMODSEQ and the UIDs of its messages with a modseq above `modSeq` (none
  // when `modSeq` is 0). Starts modseq tracking in a folder that has none yet.
  virtual Result<DestChanges> changesSince(const std::string& name, uint64_t modSeq) = 0;
  // The messages of `name` with these UIDs (those that no longer exist are left out).
  virtual Result<std::vector<DestCopy>> copies(const std::string& name,
                                               const std::vector<uint32_t>& uids) = 0;
  // Expunges these messages of `name`, each only if it still has that UID and GUID and, when
  // `unchangedSince` != 0, a modseq not above it. Returns the UIDs expunged.
  virtual Result<std::vector<uint32_t>> expunge(const std::string& name, const std::vector<DestCopy>& copies,
                                                uint64_t unchangedSince) = 0;
  // Moves a copy (MoveRequest): saves it into `to` with the new GUID, flags and the original's
  // date and bytes, then expunges the original. When `to` holds a message with the new GUID
  // already (a move cut short), only the original is expunged. Returns the UID in `to`, or 0
  // when nothing was done (the original is gone, has another GUID, or changed since).
  virtual Result<uint32_t> move(const MoveRequest& request) = 0;

  // Gives messages of `name` that this tool saved without a POP3 UIDL the old server's one, where
  // the storage can change a saved message's UIDL (maildir; not the POP3 order, nowhere). A
  // message that has a UIDL keeps it. Returns how many got one; 0 where the storage cannot.
  virtual Result<uint32_t> addPop3Uidls(const std::string& name,
                                        const std::vector<Pop3UidlUpdate>& updates) = 0;

  virtual Result<QuotaInfo> quota() = 0;

  // Whether Sieve scripts can be kept here at all (Pigeonhole installed), without touching the
  // user's files; NotFound with the reason when not: the run then reports Sieve as skipped.
  virtual Status sieveAvailable() const {
    return Status(ErrorKind::NotFound, "this destination keeps no Sieve scripts");
  }
  // The user's Sieve storage here (Pigeonhole creates its directory, ~/sieve, when it opens it:
  // opened only when there is a script to store). NotFound, with the reason, when the user has
  // none (Sieve disabled for the user).
  virtual Result<std::unique_ptr<SieveStorage>> openSieveStorage() { return sieveAvailable(); }
};

}  // namespace migrate
