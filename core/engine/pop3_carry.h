#pragma once
// The old server's POP3 UIDLs through a run: read right before INBOX's new mail is copied (when
// --source-pop3 is not "no"), given to each INBOX copy (UIDL and POP3 order), and what could not
// be kept, for the report. A POP3 client that left its mail on the old server then finds the
// same UIDLs here and downloads nothing again (docs/cutover.md).

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/folder_scan.h"
#include "engine/message.h"
#include "engine/options.h"
#include "engine/pop3_match.h"
#include "engine/report.h"
#include "engine/sink.h"
#include "engine/source_services.h"
#include "imap/session.h"

namespace migrate {

class Pop3Carry {
 public:
  // Connects to the POP3 side (pop3Endpoint(src)), lists it and matches it to the IMAP INBOX
  // through `imap` (engine/pop3_uidls.h), filling `report`. In auto mode a server without POP3,
  // and any failure, is a warning (`warn`) and INBOX is copied without the old UIDLs; a server
  // given by name that fails stops the run (Status), before INBOX is touched.
  Status read(imap::Session& imap, const SourceOptions& src, const ServiceConnectEnv& env, Pop3Report& report,
              const std::function<void(const std::string&)>& warn);
  bool active() const { return match_.has_value(); }
  // For the copy of source INBOX message `uid`: its old UIDL and POP3 order, when it has them.
  void apply(uint32_t uid, IncomingMessage& message);
  // What copies of earlier runs (source UIDs up to w.lastUidBefore, same UIDVALIDITY) should
  // carry, for Sink::addPop3Uidls(); `sourceUser` as the GUIDs were made.
  std::vector<Pop3UidlUpdate> earlierCopies(const FolderWork& w, const std::string& sourceUser) const;
  // Counts `uid` as copied (or, in a dry run, to be copied) with or without its UIDL.
  void count(uint32_t uid);
  // Moves the counts into `report` and warns about what was not kept, naming it.
  void finish(Pop3Report& report, const std::function<void(const std::string&)>& warn) const;

 private:
  std::optional<Pop3Match> match_;
  std::set<uint32_t> kept_;       // source UIDs saved with their UIDL
  std::set<uint32_t> unmatched_;  // source UIDs saved without
};

}  // namespace migrate
