#include "exit_codes.h"

#include <sysexits.h>

namespace migrate::cmd {

int usageExitCode() {
  return EX_USAGE;
}

int exitCodeFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Dns:
    case ErrorKind::Connect:
    case ErrorKind::Timeout:
    case ErrorKind::Closed:
    case ErrorKind::Throttled:
    case ErrorKind::LocalStorage:
    case ErrorKind::Cancelled:
    case ErrorKind::Busy:
      return EX_TEMPFAIL;
    case ErrorKind::Tls:
      return EX_UNAVAILABLE;
    case ErrorKind::Auth:
      return EX_NOPERM;
    case ErrorKind::Protocol:
      return EX_PROTOCOL;
    case ErrorKind::Quota:
      return EX_CANTCREAT;
    case ErrorKind::Config:
    case ErrorKind::SourceIsSelf:
      return EX_CONFIG;
    case ErrorKind::NotFound:
      return EX_NOUSER;
    case ErrorKind::Internal:
      return EX_SOFTWARE;
  }
  return EX_SOFTWARE;
}

int exitCodeFor(const Status& status) {
  return status.isOk() ? 0 : exitCodeFor(status.kind());
}

int incompleteExitCode() {
  return EX_DATAERR;
}

int mergeExitCode(int current, int next) {
  if (next == 0) {
    return current;
  }
  if (current == 0 || next == EX_TEMPFAIL) {
    return next;
  }
  return current;
}

}  // namespace migrate::cmd
