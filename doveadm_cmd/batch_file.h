#pragma once
// The batch input of `migrate batch` / `migrate check --input`: a file (FILE, read with a warning
// when others may read the passwords in it) or the text of the `input` parameter (the HTTP API's
// request body), parsed in its format (--format, or recognized), every target user looked up in
// the userdb; then one Mailbox per line, with the line's password.

#include <optional>
#include <string>
#include <vector>

#include "batch/input_formats.h"
#include "cmd_batch.h"

namespace migrate::cmd::bulk {

// What the input gave: the mailboxes to run, and the lines refused (a line the parser refused, or
// a target user the userdb does not know) as mailboxes with their final result (preFailed,
// result "invalid", reason the problem without its "line N: "). Passwords are only in `boxes`.
struct BatchInput {
  std::vector<Mailbox> boxes;
  std::vector<Mailbox> refused;
  // Every problem the parser found, warnings included, in line order (what the command line prints).
  std::vector<batch::Problem> problems;
  // A problem of the input as a whole (empty, UTF-16, no mailbox lines, the CSV header), or "".
  std::string fileProblem;
};

// The text of batch file `file` (a regular file; a warning when others may read it). Returns the
// exit code to stop with (logged), or 0.
int readInputFile(const std::string& file, std::string& text);

// The `input` parameter's text (an ISTREAM: over the HTTP API the JSON string; on the command
// line a file, or - for standard input). 1 when it was given and read, 0 when not given, or the
// negated exit code (logged).
int readInputParam(struct doveadm_cmd_context* cctx, std::string& text);

// Reads opts.file (absolute) into `boxes` and sets opts.format. The parser's problems are
// printed; nothing else is put in `boxes` when there is an error (a missing user included). The
// passwords are wiped from everything but `boxes`. Returns the exit code to stop with, or 0.
int readBatchFile(Options& opts, const std::optional<batch::Format>& forced, std::vector<Mailbox>& boxes);

// Parses `text` (then wipes it) and sets opts.format. `keepValid` (check): the refused lines do
// not stop the others (batch::parseKeepingValid). Returns the exit code of the input (0,
// EX_DATAERR for a refused line, EX_NOUSER for an unknown user, EX_TEMPFAIL when the userdb
// cannot be asked); without keepValid, `boxes` is empty unless it is 0. Prints nothing.
int parseBatchText(Options& opts, const std::optional<batch::Format>& forced, std::string& text,
                   bool keepValid, BatchInput& input);

// On the command line: the parser's problems, and for `code` EX_NOUSER the unknown users, then the
// error line ("nothing was run").
void printInputProblems(const Options& opts, const BatchInput& input, int code);

// `migrate batch --check` and `migrate check --input`: every line of `text` is checked (wiped
// after parsing); a refused line is a failed row among the others. Returns the exit code (over
// the doveadm server 0 once the rows are printed: an exit code would drop them).
int checkBatchInput(Options& opts, const std::optional<batch::Format>& forced, std::string& text);

// The check of `input`: the refused lines become final results among the others, in line order.
std::vector<Mailbox> mergeRefused(BatchInput& input);

// The refused lines as rows (line, user, result, reason), for migrateCheck/migrateBatch over the
// HTTP API, where an exit code would lose them.
void printRefusedRows(const BatchInput& input);

}  // namespace migrate::cmd::bulk
