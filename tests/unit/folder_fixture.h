#pragma once
// The setup of the folder-level engine tests (FolderScanner, FolderCopier): EngineFixture's
// fake source and memory sink, a logged-in connection, and the run's record of INBOX
// (FolderWork) as a run would make it before copying.

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <utility>

#include "engine/folder_scan.h"
#include "engine/plan.h"
#include "engine/report.h"
#include "engine/source_connection.h"
#include "engine/state.h"
#include "unit/engine_fixture.h"

namespace migrate {

class FolderFixture : public EngineFixture {
 protected:
  // INBOX as the plan and STATUS give it, with the state record `state_` from earlier passes.
  FolderWork inboxWork() {
    if (!conn_) {
      conn_ = sourceConnection();
      Status st = conn_->open();
      EXPECT_TRUE(st.isOk()) << st.describe();
    }
    inbox_.rawName = inbox_.sourceName = inbox_.destName = "INBOX";
    inbox_.isInbox = true;
    inbox_.subscribed = true;
    Result<imap::Session::StatusResult> status = conn_->session().statusMany({"INBOX"}, true);
    EXPECT_TRUE(status.isOk());
    FolderWork w;
    w.plan = &inbox_;
    w.status = status.value().statuses[0];
    w.state = &state_;
    w.known = state_.uidValidity != 0;
    w.firstNewUid = w.known ? state_.lastUid + 1 : 1;
    w.lastUidBefore = state_.lastUid;
    w.oldRules = state_.rules;
    return w;
  }

  FolderScanner scanner() {
    return FolderScanner(conn_->session(), *sink_, options_.source.user, labels_, filtered_);
  }

  // A destination INBOX holding copies made by another tool (other GUIDs) of the source's
  // messages with these UIDs.
  void copiedByAnotherTool(const std::set<uint32_t>& uids) {
    testing::MemoryFolder& inbox = sink_->folders["INBOX"];
    inbox.exists = true;
    inbox.uidValidity = 77;
    for (const testing::FakeMessage& m : source_.folders["INBOX"].messages) {
      if (uids.count(m.uid) != 0) {
        inbox.messages.push_back(
            {inbox.uidNext++, "other-" + std::to_string(m.uid), {}, 1577872800, 0, m.bytes, {}, 0});
      }
    }
  }

  std::unique_ptr<SourceConnection> conn_;
  PlannedFolder inbox_;
  FolderState state_;
  std::set<std::string> labels_;
  FilteredMessages filtered_;
};

}  // namespace migrate
