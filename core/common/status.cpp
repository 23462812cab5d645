#include "common/status.h"

namespace migrate {

const char* errorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Dns:
      return "dns";
    case ErrorKind::Connect:
      return "connect";
    case ErrorKind::Timeout:
      return "timeout";
    case ErrorKind::Tls:
      return "tls";
    case ErrorKind::Auth:
      return "auth";
    case ErrorKind::SourceIsSelf:
      return "source-is-self";
    case ErrorKind::Protocol:
      return "protocol";
    case ErrorKind::Closed:
      return "closed";
    case ErrorKind::Throttled:
      return "throttled";
    case ErrorKind::Quota:
      return "quota";
    case ErrorKind::LocalStorage:
      return "local-storage";
    case ErrorKind::NotFound:
      return "not-found";
    case ErrorKind::Cancelled:
      return "cancelled";
    case ErrorKind::Busy:
      return "busy";
    case ErrorKind::Config:
      return "config";
    case ErrorKind::Internal:
      return "internal";
  }
  return "internal";
}

bool errorKindRetriable(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Connect:
    case ErrorKind::Timeout:
    case ErrorKind::Closed:
    case ErrorKind::Throttled:
    case ErrorKind::Busy:
      return true;
    default:
      return false;
  }
}

std::string Status::describe() const {
  if (ok_) {
    return "ok";
  }
  if (hint_.empty()) {
    return message_;
  }
  return message_ + " (" + hint_ + ")";
}

Status Status::withPrefix(const std::string& prefix) const {
  if (ok_) {
    return *this;
  }
  Status s = *this;
  s.message_ = prefix + ": " + message_;
  return s;
}

}  // namespace migrate
