#include "batch_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sysexits.h>
#include "dovecot_adapter/dovecot_api.h"

#include "batch/batch_report.h"
#include "batch_passes.h"
#include "batch_report_dir.h"
#include "cli_options.h"
#include "common/textfile.h"
#include "dovecot_adapter/userdb_users.h"

namespace migrate::cmd::bulk {
namespace {

// A batch file or request larger than this is refused (a wrong file; the HTTP API of Dovecot 2.3
// refuses a request body over 1 MiB before the command sees it).
constexpr size_t kMaxInputBytes = size_t{256} << 20;

// A regular file; readable by others only with a warning (it holds passwords).
int checkFile(const std::string& file) {
  struct stat st {};
  if (stat(file.c_str(), &st) < 0) {
    i_error("migrate batch: cannot read %s: %s", file.c_str(), std::strerror(errno));
    return EX_NOINPUT;
  }
  if (!S_ISREG(st.st_mode)) {
    i_error("migrate batch: cannot read %s: not a regular file", file.c_str());
    return EX_NOINPUT;
  }
  if ((st.st_mode & 077) != 0) {
    i_warning("migrate batch: %s holds passwords but can be read by %s (mode %04o): chmod 600 %s",
              file.c_str(), (st.st_mode & 007) != 0 ? "everyone" : "its group",
              static_cast<unsigned>(st.st_mode & 07777), file.c_str());
  }
  return 0;
}

// "line 3: source_port ..." -> "source_port ..."
std::string withoutLinePrefix(const batch::Problem& p) {
  const std::string prefix = "line " + std::to_string(p.line) + ": ";
  return p.line != 0 && p.message.rfind(prefix, 0) == 0 ? p.message.substr(prefix.size()) : p.message;
}

Mailbox refusedLine(uint32_t line, const std::string& user, const std::string& reason, int exitCode) {
  Mailbox b;
  b.preFailed = true;
  b.result.line = line;
  b.result.user = user;
  b.result.started = true;
  b.result.finished = true;
  b.result.result = "invalid";
  b.result.reason = reason;
  b.result.exitCode = exitCode;
  return b;
}

Mailbox toMailbox(const batch::Entry& e, const Options& opts) {
  Mailbox b;
  b.result.line = e.line;
  b.result.user = e.localUser;
  const std::string host = e.host.empty() ? opts.defaultHost : e.host;
  b.result.source = host.empty() ? "" : e.port ? host + ":" + std::to_string(*e.port) : host;
  b.result.remoteUser = e.remoteUser;
  b.target.user = e.localUser;
  b.target.host = e.host;
  b.target.port = e.port;
  b.target.tlsMode = e.tlsMode;
  b.target.remoteUser = e.remoteUser;
  b.target.passwordStdin = true;
  b.password = e.password;
  return b;
}

// The entries whose target user the userdb does not know go to input.refused. Returns
// EX_NOUSER when there was one, EX_TEMPFAIL when the userdb cannot be asked (logged), or 0.
int refuseMissingUsers(std::vector<batch::Entry>& entries, BatchInput& input) {
  std::vector<std::string> users;
  users.reserve(entries.size());
  for (const batch::Entry& e : entries) {
    users.push_back(e.localUser);
  }
  std::vector<size_t> missing;
  Status looked = dovecot::findMissingUsers(users, missing);
  if (!looked.isOk()) {
    i_error("migrate batch: %s", looked.describe().c_str());
    return EX_TEMPFAIL;
  }
  std::vector<batch::Entry> known;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (std::find(missing.begin(), missing.end(), i) != missing.end()) {
      input.refused.push_back(refusedLine(
          entries[i].line, entries[i].localUser,
          "user " + entries[i].localUser + " not found in userdb (create the user first, or fix the line)",
          EX_NOUSER));
      wipeSecret(entries[i].password);
    } else {
      known.push_back(std::move(entries[i]));
    }
  }
  entries.swap(known);
  return missing.empty() ? 0 : EX_NOUSER;
}

}  // namespace

int parseBatchText(Options& opts, const std::optional<batch::Format>& forced, std::string& text,
                   bool keepValid, BatchInput& input) {
  batch::ParseResult parsed = keepValid ? batch::parseKeepingValid(text, forced) : batch::parse(text, forced);
  wipeSecret(text);
  opts.format = batch::formatName(parsed.format);
  input.problems = parsed.problems;
  int code = 0;
  for (const batch::Problem& p : parsed.problems) {
    if (!p.fatal) {
      continue;
    }
    code = EX_DATAERR;
    if (p.line == 0) {
      input.fileProblem += (input.fileProblem.empty() ? "" : "; ") + p.message;
    } else {
      input.refused.push_back(refusedLine(p.line, "", withoutLinePrefix(p), EX_DATAERR));
    }
  }
  if (parsed.entries.empty() && code == 0) {
    input.fileProblem = "no mailbox lines (format " + opts.format + "); nothing to do";
    code = EX_DATAERR;
  }
  if (!keepValid && code != 0) {
    batch::wipePasswords(parsed.entries);
    return code;
  }
  const int users = refuseMissingUsers(parsed.entries, input);
  if (users == EX_TEMPFAIL || (!keepValid && users != 0)) {
    batch::wipePasswords(parsed.entries);
    return users;
  }
  code = code != 0 ? code : users;
  for (const batch::Entry& e : parsed.entries) {
    input.boxes.push_back(toMailbox(e, opts));
  }
  batch::wipePasswords(parsed.entries);
  std::sort(input.refused.begin(), input.refused.end(),
            [](const Mailbox& a, const Mailbox& b) { return a.result.line < b.result.line; });
  return code;
}

std::vector<Mailbox> mergeRefused(BatchInput& input) {
  std::vector<Mailbox> all;
  all.reserve(input.boxes.size() + input.refused.size());
  for (Mailbox& b : input.boxes) {
    all.push_back(std::move(b));
  }
  for (Mailbox& b : input.refused) {
    all.push_back(std::move(b));
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Mailbox& a, const Mailbox& b) { return a.result.line < b.result.line; });
  input.boxes.clear();
  input.refused.clear();
  return all;
}

void printRefusedRows(const BatchInput& input) {
  doveadm_print_header("line", "line",
                       static_cast<doveadm_print_header_flags>(DOVEADM_PRINT_HEADER_FLAG_NUMBER |
                                                               DOVEADM_PRINT_HEADER_FLAG_RIGHT_JUSTIFY));
  doveadm_print_header_simple("user");
  doveadm_print_header_simple("result");
  doveadm_print_header("reason", "reason", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
  doveadm_print_header_simple("message");
  auto row = [](uint32_t line, const std::string& user, const std::string& reason) {
    const std::string message = line != 0 ? "line " + std::to_string(line) + ": " + reason : reason;
    doveadm_print_num(line);
    doveadm_print(user.c_str());
    doveadm_print("invalid");
    doveadm_print(reason.c_str());
    doveadm_print(message.c_str());
  };
  if (!input.fileProblem.empty()) {
    row(0, "", input.fileProblem);
  }
  for (const Mailbox& b : input.refused) {
    row(b.result.line, b.result.user, b.result.reason);
  }
}

int readInputFile(const std::string& file, std::string& text) {
  if (int code = checkFile(file); code != 0) {
    return code;
  }
  Result<std::optional<std::string>> content = textfile::readFile(file, kMaxInputBytes);
  if (!content.isOk() || !content.value()) {
    i_error("migrate batch: cannot read %s: %s", file.c_str(),
            content.isOk() ? "it disappeared" : content.status().describe().c_str());
    return EX_NOINPUT;
  }
  text.swap(*content.value());
  return 0;
}

int readInputParam(doveadm_cmd_context* cctx, std::string& text) {
  struct istream* in = nullptr;
  if (!doveadm_cmd_param_istream(cctx, "input", &in) || in == nullptr) {
    return 0;
  }
  // The HTTP server read the value to its end (into a seekable temporary stream) before the
  // command runs.
  if (in->v_offset != 0) {
    i_stream_seek(in, 0);
  }
  const unsigned char* data = nullptr;
  size_t size = 0;
  ssize_t ret = 0;
  while ((ret = i_stream_read_more(in, &data, &size)) > 0) {
    if (text.size() + size > kMaxInputBytes) {
      wipeSecret(text);
      i_error("migrate batch: the input is larger than %zu MiB: split it into several batches",
              kMaxInputBytes >> 20);
      return -EX_DATAERR;
    }
    text.append(reinterpret_cast<const char*>(data), size);
    i_stream_skip(in, size);
  }
  if (in->stream_errno != 0) {
    wipeSecret(text);
    i_error("migrate batch: cannot read the input: %s", i_stream_get_error(in));
    return -EX_NOINPUT;
  }
  if (ret == 0) {
    wipeSecret(text);
    i_error("migrate batch: the input ended early (a non-blocking stream?)");
    return -EX_NOINPUT;
  }
  return 1;
}

void printInputProblems(const Options& opts, const BatchInput& input, int code) {
  for (const batch::Problem& p : input.problems) {
    std::fprintf(stderr, "%s%s\n", p.fatal ? "" : "warning: ", p.message.c_str());
  }
  if (code == EX_NOUSER) {
    for (const Mailbox& b : input.refused) {
      std::fprintf(stderr, "line %u: %s\n", b.result.line, b.result.reason.c_str());
    }
    i_error(
        "migrate batch: %zu target user%s not found in the userdb; nothing was run (create the users "
        "first, or fix target_user)",
        input.refused.size(), input.refused.size() == 1 ? "" : "s");
  } else if (code == EX_DATAERR && input.problems.empty()) {
    i_error("migrate batch: %s has no mailbox lines (format %s); nothing to do",
            opts.file.empty() ? "the input" : opts.file.c_str(), opts.format.c_str());
  } else if (code == EX_DATAERR) {
    const auto n = static_cast<size_t>(std::count_if(input.problems.begin(), input.problems.end(),
                                                     [](const batch::Problem& p) { return p.fatal; }));
    i_error("migrate batch: %s: %zu error%s; nothing was run (fix the lines above and run again)",
            opts.file.empty() ? "the input" : opts.file.c_str(), n, n == 1 ? "" : "s");
  }
}

// --check (or `migrate check --input`): every line is checked, a refused line is a failed row
// among the others.
int checkBatchInput(Options& opts, const std::optional<batch::Format>& forced, std::string& text) {
  BatchInput input;
  const int inputCode = parseBatchText(opts, forced, text, true, input);
  if (inputCode == EX_TEMPFAIL) {
    return inputCode;
  }
  if (!opts.overServer) {
    for (const batch::Problem& p : input.problems) {
      std::fprintf(stderr, "%s%s\n", p.fatal ? "" : "warning: ", p.message.c_str());
    }
  }
  if (input.boxes.empty() && input.refused.empty()) {
    // Nothing to check: the input as a whole is wrong.
    if (opts.overServer) {
      printRefusedRows(input);
      return 0;
    }
    i_error("migrate %s: %s", opts.command.c_str(), input.fileProblem.c_str());
    return EX_DATAERR;
  }
  if (int code = prepareReportDir(opts); code != 0) {
    return code;
  }
  std::vector<Mailbox> boxes = mergeRefused(input);
  for (const Mailbox& b : boxes) {
    if (b.preFailed && !opts.overServer) {
      std::fprintf(opts.formatterChosen ? stderr : stdout, "%s\n", batch::checkLine(b.result).c_str());
    }
  }
  const int code = run(opts, boxes);
  for (Mailbox& b : boxes) {
    wipeSecret(b.password);
  }
  // Over the HTTP API an exit code would drop the rows: they say what failed.
  return opts.overServer ? 0 : code;
}

int readBatchFile(Options& opts, const std::optional<batch::Format>& forced, std::vector<Mailbox>& boxes) {
  std::string text;
  if (int code = readInputFile(opts.file, text); code != 0) {
    return code;
  }
  BatchInput input;
  const int code = parseBatchText(opts, forced, text, false, input);
  printInputProblems(opts, input, code);
  if (code != 0) {
    for (Mailbox& b : input.boxes) {
      wipeSecret(b.password);
    }
    return code;
  }
  boxes = std::move(input.boxes);
  return 0;
}

}  // namespace migrate::cmd::bulk
