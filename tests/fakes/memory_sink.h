#pragma once
// An in-memory Sink for engine unit tests: folders, messages with flags/GUIDs/UIDs, a quota, and
// failure injection. The real lib-storage Sink is tested against Dovecot in tests/dovecot.

#include <map>
#include <string>
#include <vector>

#include "engine/sink.h"
#include "fakes/memory_sieve.h"

namespace migrate::testing {

struct StoredMessage {
  uint32_t uid = 0;
  std::string guid;
  MessageFlags flags;
  int64_t internalDate = 0;
  int tz = 0;
  std::string bytes;
  std::string pop3Uidl;
  uint32_t pop3Order = 0;
  uint64_t modSeq = 0;
};

struct MemoryFolder {
  uint32_t uidValidity = 0;
  uint32_t uidNext = 1;
  uint8_t specialUse = 0;
  bool subscribed = false;
  bool exists = false;  // false: declared special-use folder not created yet
  std::vector<StoredMessage> messages;
  uint64_t highestModSeq = 1;
};

class MemorySink : public Sink {
 public:
  explicit MemorySink(std::string stateDir);

  // Test knobs.
  std::map<std::string, MemoryFolder> folders;
  uint64_t quotaLimit = 0;  // 0: no quota
  int failSaveAfter = -1;   // saves that succeed before one fails (with failKind); -1: never
  ErrorKind failKind = ErrorKind::Quota;
  int saves = 0;
  int listings = 0;  // listMessages() calls (verify)
  int commits = 0;
  std::vector<std::string> saveOrder;  // the folder of each save, in order
  MemorySieve sieve;                   // the user's Sieve scripts here

  uint64_t usedBytes() const;
  std::vector<const StoredMessage*> all(const std::string& folder) const;
  // What a user or a delivery does here: a flag change on a message (a new modseq), a message
  // delivered (another GUID), a message moved to another folder (its GUID kept). Return the UID.
  void userSetFlags(const std::string& folder, uint32_t uid, const MessageFlags& flags);
  uint32_t deliver(const std::string& folder, const std::string& bytes, const std::string& guid);
  uint32_t userMove(const std::string& from, uint32_t uid, const std::string& to);

  char separator() const override { return '/'; }
  Result<std::string> stateDir(bool /*create*/) override { return stateDir_; }
  std::string tempDir() const override { return "/tmp"; }
  Result<std::vector<DestFolder>> listFolders() override;
  Result<DestFolderStatus> prepareFolder(const std::string& name,
                                         const PrepareFolderOptions& options) override;
  Result<DestFolderStatus> folderStatus(const std::string& name) override;
  Status setSubscribed(const std::string& name) override;
  Result<std::unordered_map<std::string, uint32_t>> guidsFrom(const std::string& name,
                                                              uint32_t minUid) override;
  Result<std::vector<ContentKey>> contentKeys(const std::string& name, uint32_t minUid) override;
  Result<std::vector<DestMessage>> listMessages(const std::string& name) override;
  Result<std::unordered_map<uint32_t, std::string>> bodyDigests(const std::string& name,
                                                                const std::vector<uint32_t>& uids) override;
  Status beginBatch(const std::string& name) override;
  Status save(const IncomingMessage& message) override;
  Result<CommitResult> commitBatch() override;
  void rollbackBatch() override;
  Result<uint32_t> addPop3Uidls(const std::string& name, const std::vector<Pop3UidlUpdate>& updates) override;
  Result<uint32_t> updateFlags(const std::string& name, const std::vector<FlagUpdate>& updates,
                               std::vector<uint32_t>* changedUids) override;
  Result<DestChanges> changesSince(const std::string& name, uint64_t modSeq) override;
  Result<std::vector<DestCopy>> copies(const std::string& name, const std::vector<uint32_t>& uids) override;
  Result<std::vector<uint32_t>> expunge(const std::string& name, const std::vector<DestCopy>& copies,
                                        uint64_t unchangedSince) override;
  Result<uint32_t> move(const MoveRequest& request) override;
  int expunges = 0;  // messages expunged through the Sink
  Result<QuotaInfo> quota() override;
  Status sieveAvailable() const override {
    return sieve.unavailable.empty() ? Status::ok() : Status(ErrorKind::NotFound, sieve.unavailable);
  }
  Result<std::unique_ptr<SieveStorage>> openSieveStorage() override {
    MIGRATE_RETURN_IF_ERROR(sieveAvailable());
    sieve.opens++;
    return std::unique_ptr<SieveStorage>(std::make_unique<MemorySieveStorage>(sieve));
  }

 private:
  DestFolderStatus statusOf(const MemoryFolder& f, bool created) const;
  static ContentKey keyOf(const StoredMessage& m);
  Result<MemoryFolder*> existing(const std::string& name);
  std::string stateDir_;
  std::string batchFolder_;
  std::vector<StoredMessage> batch_;
  uint32_t nextUidValidity_ = 1000;
};

}  // namespace migrate::testing
