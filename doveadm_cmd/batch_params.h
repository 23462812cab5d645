#pragma once
// The parameters of `doveadm migrate batch` and `doveadm migrate check`: their doveadm parameter
// tables, and the reading of what both take (the migrate options to pass through to the
// children, -j, -r, --notify, --repeat-until-idle) into Options.

#include <initializer_list>
#include <string>
#include <vector>

#include "batch/child_run.h"

#include "cmd_batch.h"
#include "dovecot_adapter/dovecot_api.h"

namespace migrate::cmd::bulk {

// Own options of both commands, read from the command line: jobs, report dir, notify, and the
// migrate options to pass through (checked once here with the same parser `doveadm migrate` uses,
// so a bad option fails before anything runs). Returns the exit code to stop with, or 0.
// `password` receives --source-password-stdin's password (check only).
int readCommonOptions(struct doveadm_cmd_context* cctx, Options& opts, std::string& password);

// The parameter tables: the migrate options without the excluded names, plus `own`. Built once while
// doveadm loads the module; if that fails (out of memory) the command takes no options.
const struct doveadm_cmd_param* buildParams(std::initializer_list<struct doveadm_cmd_param> own,
                                            bool withUserSelection) noexcept;

// The migrate options given on the command line (or in the request) that a child run gets as
// well: the set ones among migrateParams(), paths made absolute, without the user selection, the
// password input and --dry-run.
std::vector<batch::PassThrough> passedThroughOptions(const struct doveadm_cmd_context* cctx);

// `path` relative to the working directory made absolute (children run in our working directory,
// but report.json and the logs should name files unambiguously). An absolute or empty path, or
// any path when the working directory is unknown, is returned as it is.
std::string absolutePath(const std::string& path);

}  // namespace migrate::cmd::bulk
