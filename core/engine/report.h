#pragma once
// What a migration of one user did: the admin reads it as a table/JSON row; tests assert on it.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate {

struct FolderReport {
  std::string source;       // source name, UTF-8, source separator
  std::string destination;  // destination name, UTF-8, destination separator
  bool created = false;
  bool uidsPreserved = false;
  uint32_t sourceMessages = 0;
  uint64_t sourceBytes = 0;
  uint32_t copied = 0;
  uint32_t skipped = 0;  // already present (earlier run, or matched by content)
  uint32_t failed = 0;
  uint64_t bytes = 0;  // bytes copied
  uint32_t flagsUpdated = 0;
  uint32_t pending = 0;  // dry run: messages that a real run would copy
  // --sync-deletions (engine/deletion_sync.h); in a dry run, what a real run would do.
  uint32_t expunged = 0;     // copies expunged here: their source message is gone
  uint32_t moved = 0;        // copies moved from here to where the source moved the message
  uint32_t changedHere = 0;  // copies of gone source messages left alone: changed here since
  std::string note;          // e.g. "UIDVALIDITY changed 5 -> 9: matched by Message-ID/date/size"
  // Not copied, by reason key (see MigrationReport::skippedByReason; "present" equals `skipped`).
  std::map<std::string, uint32_t> skippedByReason;
};

// What the run did with the old server's POP3 UIDLs (--source-pop3, engine/pop3_carry.h).
struct Pop3Report {
  // "": not read (--source-pop3 no, or no new mail in INBOX); "read"; "skipped" (auto: the
  // server offers no POP3 there); "failed" (reason says why; INBOX was copied without them).
  std::string state;
  std::string server;   // "pop.example.org:995 (TLS)"
  std::string reason;   // skipped / failed: why
  uint32_t listed = 0;  // messages in the POP3 list
  double seconds = 0;   // reading and matching them (both lists, headers where sizes do not tell)
  uint32_t kept = 0;    // INBOX copies saved with their old UIDL and order (dry run: that would be)
  uint32_t added = 0;   // copies of earlier runs that had none and got their old UIDL now (maildir)
  std::vector<uint32_t> unmatched;    // source INBOX UIDs copied without one: POP3 clients fetch these again
  std::vector<std::string> pop3Only;  // UIDLs with no IMAP message
  std::vector<std::string> unusable;  // UIDLs that cannot be kept (not RFC 1939, or repeated)
};

// One Sieve script of the old server (engine/sieve_copy.h).
struct SieveScriptReport {
  std::string name;      // at the source
  std::string storedAs;  // its name here ("" : not stored)
  // "stored", "stored inactive" (does not compile here: `detail` has the compiler's messages),
  // "unchanged" (here already, the same bytes), "skipped" (`detail` says why), or in a dry run
  // "would store".
  std::string result;
  std::string detail;
  bool activeAtSource = false;
  bool activated = false;  // made the active script here by this run
  // Folder names that could not be mapped and names that were: "line 5: fileinto 'X' -> 'Y'".
  std::vector<std::string> unmapped;
  std::vector<std::string> mapped;
};

struct SieveReport {
  // "" : not asked for (--source-sieve no); "copied"; "skipped" (`reason` says why: no
  // ManageSieve at the source, Pigeonhole not installed here); "failed" (`reason`).
  std::string result;
  std::string reason;
  std::vector<SieveScriptReport> scripts;
  std::string activation;  // what became of the source's active script ("" : none was active)
  // One line for the report's sieve column: "3 stored, 1 inactive, 2 names unmapped",
  // "skipped: ...", "failed: ...".
  std::string summary() const;
};

struct MigrationReport {
  std::string user;
  std::string source;    // SourceOptions::describe()
  Status status;         // ok, or why the user stopped
  bool partial = false;  // some messages were copied before the failure
  bool dryRun = false;
  std::vector<FolderReport> folders;
  uint32_t copied = 0, skipped = 0, failed = 0, flagsUpdated = 0;
  uint32_t expunged = 0, moved = 0, changedHere = 0;  // sums of the folders' (--sync-deletions)
  // Folders whose deletion pass stopped for safety, each as "name: why" (the run's error then
  // says so): a UIDVALIDITY change, or a source folder that lists none of the mail copied from it.
  std::vector<std::string> deletionStops;
  uint64_t bytes = 0;
  uint64_t sourceBytes = 0;  // bytes of the messages to copy (known in dry runs and with a quota)
  uint32_t sourceMessages = 0;
  double seconds = 0;
  // Quota as seen before copying (limited == false: none).
  bool quotaLimited = false;
  uint64_t quotaUsed = 0, quotaLimit = 0;
  std::vector<std::string> warnings;
  // Why messages were not copied, by reason key, counted over all folders (the JSON report and
  // the skip_reasons column show them):
  //   "present"      already in the destination (earlier run, or matched by content)
  //   "too_large"    larger than --max-size
  //   "date"         outside --since / --before
  //   "excluded"     in a folder left out by --exclude / --include / a preset
  //   "duplicate"    the same message already taken from another folder (Gmail labels)
  // `skipped` above counts "present" only, as before; the other reasons are counted here.
  std::map<std::string, uint32_t> skippedByReason;
  // Source folders left out, each as "name: reason" (e.g. "[Gmail]/Important: virtual folder").
  std::vector<std::string> excludedFolders;
  SieveReport sieve;
  uint32_t reconnects = 0;   // connections lost (or throttled) and resumed during the run
  double waitedSeconds = 0;  // time spent backing off (server throttling, reconnects)
  Pop3Report pop3;

  // "ok", "partial" or "failed".
  const char* result() const;
};

// The pop3_uidls column: "kept=9990 unmatched=2 pop3_only=1 unusable=0" (counts that are not 0
// after kept), "skipped", "failed", or "" when the POP3 side was not read.
std::string pop3Summary(const Pop3Report& pop3);

// "1.2 GiB", "300.0 MiB", "512 bytes".
std::string formatBytes(uint64_t bytes);

}  // namespace migrate
