// `doveadm migrate log [-u USER | -A | -F FILE] [-l BYTES]` (HTTP migrateLog): the log of the
// user's background runs (migrate start, resume, a schedule, the first login: what they wrote to
// dovecot-migrate.login.log in the state directory), its last BYTES (default 64 KiB) as one text
// column. Only reads; it holds no password (the runs never print one).

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <string>

#include "cmd_migrate.h"
#include "common/textfile.h"
#include "dovecot_adapter/background_run.h"
#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/state_location.h"
#include "exit_codes.h"
#include "status_common.h"

struct migrate_log_context {
  struct doveadm_mail_cmd_context ctx;  // must be first: doveadm allocates and frees the block
  uint64_t maxBytes;
};

namespace migrate::cmd {
namespace {

constexpr uint64_t kDefaultMaxBytes = 64 * 1024;
constexpr uint64_t kLimitMaxBytes = 16 * 1024 * 1024;

migrate_log_context* logContext(doveadm_mail_cmd_context* ctx) {
  return reinterpret_cast<migrate_log_context*>(ctx);
}

// The last `maxBytes` of the text, from the start of a line.
std::string tail(const std::string& text, uint64_t maxBytes) {
  if (text.size() <= maxBytes) {
    return text;
  }
  size_t from = text.size() - maxBytes;
  const size_t newline = text.find('\n', from);
  from = newline == std::string::npos ? from : newline + 1;
  return "[... " + std::to_string(from) + " earlier bytes not shown ...]\n" + text.substr(from);
}

int logRun(doveadm_mail_cmd_context* ctx, mail_user* user) {
  Result<std::string> dir = dovecot::stateDirectoryPath(user);
  Status status = dir.status();
  std::string text;
  if (status.isOk()) {
    Result<std::optional<std::string>> read =
        textfile::readFile(dir.value() + "/" + dovecot::kBackgroundLogFile, 64u << 20);
    status = read.status();
    if (status.isOk() && read.value()) {
      text = tail(*read.value(), logContext(ctx)->maxBytes);
    }
  }
  if (!status.isOk()) {
    doveadm_print("");
    i_error("migrate log(%s): %s", user->username, status.describe().c_str());
    mergeCommandExitCode(ctx, exitCodeFor(status));
    return -1;
  }
  doveadm_print(text.c_str());
  return 0;
}

int cmdLogRun(doveadm_mail_cmd_context* ctx, mail_user* user) noexcept {
  try {
    return logRun(ctx, user);
  } catch (const std::exception& e) {
    i_error("migrate log(%s): internal error: %s", user->username, e.what());
  } catch (...) {
    i_error("migrate log(%s): internal error: unknown exception", user->username);
  }
  mergeCommandExitCode(ctx, exitCodeFor(ErrorKind::Internal));
  return -1;
}

void cmdLogInit(doveadm_mail_cmd_context* ctx) noexcept {
  const char* value = nullptr;
  if (doveadm_cmd_param_str(ctx->cctx, "max-bytes", &value) && value != nullptr) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || n == 0 || n > kLimitMaxBytes) {
      i_error("migrate log: -l/--max-bytes %s: not a number of bytes (1 to %llu)", value,
              static_cast<unsigned long long>(kLimitMaxBytes));
      mergeCommandExitCode(ctx, usageExitCode());
      ctx->v.get_next_user = [](doveadm_mail_cmd_context*, const char** usernameR) noexcept {
        *usernameR = nullptr;
        return 0;
      };
      return;
    }
    logContext(ctx)->maxBytes = n;
  }
  doveadm_print_header("log", "log", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
}

bool isLogOptionLetter(int letter) noexcept {
  return letter == 'l';
}

doveadm_mail_cmd_context* cmdLogAlloc() noexcept {
  auto* lctx = doveadm_mail_cmd_alloc(migrate_log_context);
  lctx->maxBytes = kDefaultMaxBytes;
  dovecot::setMailCommandInit<cmdLogInit, isLogOptionLetter>(&lctx->ctx);
  lctx->ctx.v.run = cmdLogRun;
  doveadm_print_init(DOVEADM_PRINT_TYPE_TABLE);
  return &lctx->ctx;
}

const doveadm_cmd_param* logParams() noexcept {
  static const doveadm_cmd_param* table = [] {
    std::vector<doveadm_cmd_param> params;
    dovecot::appendMailCommonParams(params);
    params.push_back(dovecot::makeParam('l', "max-bytes", CMD_PARAM_STR));
    return dovecot::paramTable(std::move(params));
  }();
  return table;
}

}  // namespace
}  // namespace migrate::cmd

extern "C" {
struct doveadm_cmd_ver2 doveadm_cmd_migrate_log_ver2 = {
    nullptr,       migrate::cmd::cmdLogAlloc, "migrate log", "[-u <user>|-A|-F <user file>] [-l <max bytes>]",
    CMD_FLAG_NONE, migrate::cmd::logParams(),
};
}
