#pragma once
// The batch file of `migrate batch FILE`: read (with a warning when others may read the
// passwords in it), parsed in its format (--format, or recognized), every target user looked up in
// the userdb; then one Mailbox per line, with the line's password.

#include <optional>
#include <vector>

#include "batch/input_formats.h"
#include "cmd_batch.h"

namespace migrate::cmd::bulk {

// Reads opts.file (absolute) into `boxes` and sets opts.format. The parser's problems are
// printed; nothing else is put in `boxes` when there is an error (a missing user included). The
// passwords are wiped from everything but `boxes`. Returns the exit code to stop with, or 0.
int readBatchFile(Options& opts, const std::optional<batch::Format>& forced, std::vector<Mailbox>& boxes);

}  // namespace migrate::cmd::bulk
