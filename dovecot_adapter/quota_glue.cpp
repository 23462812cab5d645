#include "dovecot_adapter/quota_glue.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/handles.h"

#include <dlfcn.h>

#include <limits>
#include <string>

namespace migrate::dovecot {

namespace {

// quota_get_resource()'s mailbox argument for the user's whole quota: a mailbox name in 2.3, a
// mailbox (NULL allowed) in 2.4.
#if DOVECOT_PREREQ(2, 4, 0)
constexpr struct mailbox* kAnyMailbox = nullptr;
#else
constexpr const char* kAnyMailbox = "";
#endif

// The quota plugin's public API (quota.h), resolved at run time. decltype() only names the
// types: no reference to the symbols reaches the linker.
struct QuotaApi {
  decltype(&quota_root_iter_init_user) iterInit = nullptr;
  decltype(&quota_root_iter_next) iterNext = nullptr;
  decltype(&quota_root_iter_deinit) iterDeinit = nullptr;
  decltype(&quota_get_resource) getResource = nullptr;
  decltype(&quota_root_get_name) rootName = nullptr;

  bool complete() const {
    return iterInit != nullptr && iterNext != nullptr && iterDeinit != nullptr && getResource != nullptr &&
           rootName != nullptr;
  }
};

template <class F>
void resolve(F& fn, const char* name) {
  // Not cached: mail_plugins are loaded per user, possibly after our module.
  fn = reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

QuotaApi resolveQuotaApi() {
  QuotaApi api;
  resolve(api.iterInit, "quota_root_iter_init_user");
  resolve(api.iterNext, "quota_root_iter_next");
  resolve(api.iterDeinit, "quota_root_iter_deinit");
  resolve(api.getResource, "quota_get_resource");
  resolve(api.rootName, "quota_root_get_name");
  return api;
}

class QuotaRootIter {
 public:
  QuotaRootIter(const QuotaApi& api, struct mail_user* user) : api_(api), iter_(api.iterInit(user)) {}
  ~QuotaRootIter() { api_.iterDeinit(&iter_); }
  QuotaRootIter(const QuotaRootIter&) = delete;
  QuotaRootIter& operator=(const QuotaRootIter&) = delete;
  struct quota_root* next() {
    return api_.iterNext(iter_);
  }

 private:
  const QuotaApi& api_;
  struct quota_root_iter* iter_;
};

}  // namespace

bool quotaPluginLoaded() {
  return resolveQuotaApi().complete();
}

Result<QuotaInfo> readQuota(struct mail_user* user) {
  QuotaApi api = resolveQuotaApi();
  QuotaInfo best;
  if (!api.complete()) {
    return best;
  }
  DataStackFrame frame;
  uint64_t bestFree = std::numeric_limits<uint64_t>::max();
  QuotaRootIter iter(api, user);
  while (struct quota_root* root = iter.next()) {
    uint64_t used = 0;
    uint64_t limit = 0;
    const char* error = nullptr;
    const char* rootName = api.rootName(root);
    std::string name = rootName != nullptr ? rootName : "";
    uint64_t usedMsgs = 0;
    uint64_t limitMsgs = 0;
    const char* msgError = nullptr;
    if (api.getResource(root, kAnyMailbox, QUOTA_NAME_MESSAGES, &usedMsgs, &limitMsgs, &msgError) ==
        QUOTA_GET_RESULT_LIMITED) {
      uint64_t freeMsgs = limitMsgs > usedMsgs ? limitMsgs - usedMsgs : 0;
      uint64_t bestFreeMsgs =
          best.limitMessages > best.usedMessages ? best.limitMessages - best.usedMessages : 0;
      if (!best.messagesLimited || freeMsgs < bestFreeMsgs) {
        best.messagesLimited = true;
        best.usedMessages = usedMsgs;
        best.limitMessages = limitMsgs;
      }
    }
    // STORAGE_BYTES: "STORAGE" would be in KiB.
    enum quota_get_result r =
        api.getResource(root, kAnyMailbox, QUOTA_NAME_STORAGE_BYTES, &used, &limit, &error);
    switch (r) {
      case QUOTA_GET_RESULT_LIMITED: {
        uint64_t freeBytes = limit > used ? limit - used : 0;
        if (!best.limited || freeBytes < bestFree) {
          best.limited = true;
          best.usedBytes = used;
          best.limitBytes = limit;
          best.root = name;
          bestFree = freeBytes;
        }
        break;
      }
      case QUOTA_GET_RESULT_UNLIMITED:
      case QUOTA_GET_RESULT_UNKNOWN_RESOURCE:  // this root does not limit storage
        break;
      case QUOTA_GET_RESULT_BACKGROUND_CALC:
        return Status(ErrorKind::LocalStorage,
                      "quota root '" + name + "' is being recalculated in the background",
                      "run the migration again in a moment");
      case QUOTA_GET_RESULT_INTERNAL_ERROR:
      default:
        return Status(
            ErrorKind::LocalStorage,
            "cannot read quota root '" + name + "': " + (error != nullptr ? error : "unknown error"),
            "check the quota backend settings and the Dovecot log");
    }
  }
  return best;
}

}  // namespace migrate::dovecot
