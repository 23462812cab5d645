// Placeholder until the schedule lands: --at and --second-pass-after are refused.

#include "start_schedule.h"

namespace migrate::cmd {

Status checkStartSchedule(const StartScheduleArgs& args) {
  if (args.any()) {
    return Status(ErrorKind::Config, "--at and --second-pass-after are not available in this version",
                  "start the migration now and run `doveadm migrate start` again for a second pass");
  }
  return Status::ok();
}

Result<bool> applyStartSchedule(struct mail_user*, const std::string&, const StartScheduleArgs&) {
  return true;
}

}  // namespace migrate::cmd
