#include "engine/quota_notice.h"

#include "engine/report.h"
#include "options/option_values.h"

namespace migrate {

namespace {

uint64_t freeOf(uint64_t limit, uint64_t used) {
  return limit > used ? limit - used : 0;
}

}  // namespace

Status quotaShortfall(const QuotaInfo& q, uint64_t neededBytes, uint64_t neededMessages,
                      const std::string& localUser, bool dryRun) {
  const uint64_t free = freeOf(q.limitBytes, q.usedBytes);
  const uint64_t freeMessages = freeOf(q.limitMessages, q.usedMessages);
  const std::string what = dryRun ? "a run would copy nothing" : "nothing was copied";
  if (q.limited && neededBytes > free) {
    return Status(ErrorKind::Quota,
                  "insufficient space for " + localUser + ": needs " + formatBytes(neededBytes) + ", " +
                      formatBytes(free) + " free of " + formatBytes(q.limitBytes) + " quota",
                  what + "; raise " + localUser + "'s quota (e.g. " + options::quotaStorageHint() +
                      ") and run the same command again");
  }
  if (q.messagesLimited && neededMessages > freeMessages) {
    return Status(ErrorKind::Quota,
                  "insufficient space for " + localUser + ": needs " + std::to_string(neededMessages) +
                      " messages, " + std::to_string(freeMessages) + " free of a " +
                      std::to_string(q.limitMessages) + "-message quota",
                  what + "; raise " + localUser + "'s message limit (" + options::quotaMessagesHint() +
                      ") and run the same command again");
  }
  return Status::ok();
}

Status quotaStopped(const QuotaStop& stop, const Result<QuotaInfo>& quota) {
  const std::string atLeast = stop.exact ? "" : " or more";
  std::string numbers;
  std::string fix =
      "raise " + stop.localUser + "'s quota (e.g. " + options::quotaStorageHint() + ") or free space";
  if (quota.isOk() && quota.value().messagesLimited &&
      quota.value().usedMessages >= quota.value().limitMessages) {
    const QuotaInfo& q = quota.value();
    numbers = "the message quota is full (" + std::to_string(q.usedMessages) + " of " +
              std::to_string(q.limitMessages) + " messages) and " + std::to_string(stop.neededMessages) +
              atLeast + " messages of this folder are still to copy";
    fix = "raise " + stop.localUser + "'s message limit (" + options::quotaMessagesHint() + ")";
  } else if (quota.isOk() && quota.value().limited) {
    const QuotaInfo& q = quota.value();
    numbers = "needs " + std::string(stop.exact ? "" : "at least ") + formatBytes(stop.neededBytes) +
              " more, " + formatBytes(freeOf(q.limitBytes, q.usedBytes)) + " free of " +
              formatBytes(q.limitBytes) + " quota";
  } else {
    numbers =
        "the destination refused a message of " + formatBytes(stop.refusedSize) + " (" + stop.refusal + ")";
  }
  return Status(
      ErrorKind::Quota,
      "insufficient space for " + stop.localUser + ": " + numbers + "; stopped in folder '" + stop.folder +
          "' after copying " + std::to_string(stop.copied) + " messages",
      "what was copied stays; " + fix + ", then run the same command again: it continues where it stopped");
}

}  // namespace migrate
