#include "engine/self_check.h"

#include <cstdint>
#include <unordered_map>

namespace migrate {

namespace {

// Only a local INBOX that looks exactly like the source's can be the same mailbox.
bool looksLikeLocalInbox(Sink& sink, const imap::MailboxStatus& inbox) {
  Result<DestFolderStatus> local = sink.folderStatus("INBOX");
  return local.isOk() && local.value().uidValidity == inbox.uidValidity &&
         local.value().uidNext == inbox.uidNext && local.value().messages == inbox.messages;
}

}  // namespace

Status checkSourceIsSelf(imap::Session& session, Sink& sink, const imap::MailboxStatus& inbox,
                         const SourceOptions& src, const std::string& localUser) {
  if (inbox.messages == 0 || inbox.uidNext < 2 || !looksLikeLocalInbox(sink, inbox)) {
    return Status::ok();
  }
  Result<imap::MailboxStatus> ex = session.examine("INBOX");
  if (!ex.isOk()) {
    return ex.status().kind() == ErrorKind::NotFound ? Status::ok() : ex.status();
  }
  std::string xguid;
  uint32_t uid = 0;
  Status st = session.uidFetch(inbox.uidNext - 1, 0, "UID X-GUID", [&](const imap::FetchedMessage& m) {
    xguid = m.xGuid;
    uid = m.uid;
    return Status::ok();
  });
  if (!st.isOk() && st.kind() != ErrorKind::Protocol) {
    return st;
  }
  if (xguid.empty() || uid == 0) {
    return Status::ok();
  }
  Result<std::unordered_map<std::string, uint32_t>> local = sink.guidsFrom("INBOX", uid);
  if (!local.isOk()) {
    return Status::ok();  // no local INBOX yet: certainly not the same mailbox
  }
  auto it = local.value().find(xguid);
  if (it == local.value().end() || it->second != uid) {
    return Status::ok();
  }
  return Status(ErrorKind::SourceIsSelf,
                "the source " + src.host + ":" + std::to_string(src.port) + " is this server: " + src.user +
                    "'s INBOX there is " + localUser + "'s local INBOX",
                "--source-host must name the OLD server; after the DNS switch its name may point here: use "
                "the old server's IP address or another name for it");
}

}  // namespace migrate
