#pragma once
// The destination as the engine sees it. plugin/ implements it over lib-storage; tests may
// implement it in memory. All calls happen on one thread (lib-storage is not thread-safe).
// Folder names here are destination names in UTF-8 with the destination's separator.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "engine/message.h"
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
  // are skipped (the user may have deleted them). Returns how many changed.
  virtual Result<uint32_t> updateFlags(const std::string& name, const std::vector<FlagUpdate>& updates) = 0;

  virtual Result<QuotaInfo> quota() = 0;
};

}  // namespace migrate
