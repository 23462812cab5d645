#pragma once
// What a run knows and decides about one source folder before and while it is copied
// (FolderWork), and which of its messages still need copying (FolderScanner): the source's list
// of UIDs and sizes against the filters, Gmail's labels and what the destination holds already.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/plan.h"
#include "engine/selection.h"
#include "engine/sink.h"
#include "engine/state.h"
#include "imap/session.h"

namespace migrate {

struct FolderWork {
  const PlannedFolder* plan = nullptr;
  imap::MailboxStatus status;
  Status statusError;
  FolderState* state = nullptr;
  bool known = false;  // there is state from an earlier run
  bool uidValidityChanged = false;
  bool nothingNew = false;
  uint32_t firstNewUid = 1;
  // After reconcile(): the source messages from firstNewUid on that still have to be copied,
  // (uid, size), and how many were found to be here already.
  bool reconciled = false;
  std::vector<std::pair<uint32_t, uint64_t>> toCopy;
  uint32_t reconciledSkipped = 0;
  uint32_t listedMaxUid = 0;
  uint32_t listedUidNext = 0;  // the UIDNEXT the listing started from: every UID below was listed
  uint32_t reconciledUidValidity = 0;
  std::string excluded;  // why the folder is left out ("" : it is not)
  MessageRules rules;    // the message filter for this folder
  // The stored rules may have skipped messages that `rules` take: list the folder from UID 1
  // and copy those (oldRules: the stored rules at the start, lastUidBefore: the last UID then).
  bool rescan = false;
  MessageRules oldRules;
  uint32_t lastUidBefore = 0;
  // What the deletion pass (engine/deletion_sync.h) did in this folder, for its FolderReport.
  uint32_t expunged = 0;
  uint32_t moved = 0;
  uint32_t changedHere = 0;
  std::string deletionNote;  // e.g. why the pass stopped here
};

// Skipped by the filters, per source folder (decoded name): UID -> reason (kSkip* of
// engine/selection.h). Kept across the attempts of a run, so a reconnect counts nothing twice.
using FilteredMessages = std::map<std::string, std::map<uint32_t, const char*>>;

// The destination messages that may be copies of source messages without our records saying
// so: none when the folder is as we left it; those from the UIDNEXT after our last commit on
// (a run that died between its commit and its state write, mail delivered locally since); all
// of them when there is no usable state (first run into a folder that holds mail, state file
// lost, UIDVALIDITY changed at the source). Returns the first such UID, or 0.
uint32_t uncertainFrom(const FolderWork& w, const DestFolderStatus& dest);

class FolderScanner {
 public:
  // `copiedLabels`: Gmail labels of copied folders (engine/gmail_labels.h), for rules.dedupe.
  FolderScanner(imap::Session& session, Sink& sink, const std::string& sourceUser,
                const std::set<std::string>& copiedLabels, FilteredMessages& filtered)
      : session_(session),
        sink_(sink),
        sourceUser_(sourceUser),
        copiedLabels_(copiedLabels),
        filtered_(filtered) {}

  // Before copying (quota check, dry run): what the folder would copy. EXAMINEs it.
  Status prescan(FolderWork& w);

  // Lists the source messages from `first` on (the folder must be EXAMINEd; `ex` is what EXAMINE
  // said) and decides which need copying into w.toCopy. With destFrom != 0, a source message is
  // already here when a destination message (UID >= destFrom) has its deterministic GUID, or
  // else the same Message-ID, INTERNALDATE and size: the content match catches copies whose GUID
  // never reached the storage (a maildir commit cut short by kill -9 leaves files in cur/ that
  // dovecot-uidlist never recorded) and copies made before a UIDVALIDITY change. A destination
  // message matched by GUID is not used for content matching, so exact duplicates at the source
  // stay distinct.
  Status reconcile(FolderWork& w, const imap::MailboxStatus& ex, uint32_t first, uint32_t destFrom);

 private:
  struct Listed {
    uint32_t uid;
    uint64_t size;
    ContentKey key;
    std::vector<std::string> labels;
  };
  // What the destination holds from destFrom on: GUIDs of `listed` source messages, and the
  // content keys (with their counts) of the other messages.
  struct DestIndex;

  Status listSource(const FolderWork& w, uint32_t first, uint32_t destFrom, std::vector<Listed>& listed);
  Status indexDestination(const FolderWork& w, uint32_t uidValidity, uint32_t destFrom,
                          const std::vector<Listed>& listed, DestIndex& index);
  bool takenBefore(const FolderWork& w, const Listed& l) const;
  const char* filterReason(const MessageRules& rules, const Listed& l) const;

  imap::Session& session_;
  Sink& sink_;
  const std::string& sourceUser_;
  const std::set<std::string>& copiedLabels_;
  FilteredMessages& filtered_;
};

}  // namespace migrate
