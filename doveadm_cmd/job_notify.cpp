#include "job_notify.h"

#include "common/strings.h"
#include "dovecot_adapter/dovecot_api.h"
#include "engine/run_job.h"
#include "notify.h"

namespace migrate::cmd {
namespace {

std::string mailBody(const std::string& user, const RunStatus& s) {
  std::string body = "The migration of " + user + " ended: " + s.state + ".\n\n";
  body += "From:        " + s.source + "\n";
  body += "Started:     " + isoTime(s.started) + "\n";
  body += "Finished:    " + isoTime(s.finished) + "\n";
  body += "Copied:      " + std::to_string(s.copied) + " messages, " + std::to_string(s.bytes) + " bytes\n";
  body += "Folders:     " + std::to_string(s.foldersDone) + "\n";
  if (!s.error.empty()) {
    body += "\nWhat went wrong: " + s.error + "\n";
  }
  body += "\nDetails: doveadm migrate status -u " + user + " and doveadm migrate log -u " + user + "\n";
  return body;
}

}  // namespace

void notifyJobEnd(const std::string& stateDir, const std::string& user, const RunStatus& status) {
  if (status.state != "ok" && status.state != "partial" && status.state != "failed") {
    return;
  }
  Result<std::optional<RunJob>> job = readRunJob(stateDir);
  if (!job.isOk() || !job.value() || job.value()->notify.empty()) {
    return;
  }
  const std::string subject = "Migration of " + user + ": " + status.state;
  Status sent = sendNotification(job.value()->notify, subject, mailBody(user, status));
  if (!sent.isOk()) {
    i_warning("migrate(%s): the result mail to %s was not sent: %s", user.c_str(),
              job.value()->notify.c_str(), sent.describe().c_str());
  }
}

}  // namespace migrate::cmd
