#pragma once
// The one error model of the project. Every failure the admin can meet is a Status with a kind
// (what went wrong, used for exit codes and retry decisions), a one-line message (what happened,
// naming the user/folder/host where relevant) and a hint (what the admin can do about it).
// Mapping to Dovecot errors and doveadm exit codes happens in exactly one place:
// doveadm_cmd/exit_codes (see docs/admin-guide.md "Exit codes").

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace migrate {

enum class ErrorKind {
  Dns,           // host name does not resolve
  Connect,       // connection refused / unreachable
  Timeout,       // connect, TLS handshake or a command took too long
  Tls,           // handshake or certificate verification failed
  Auth,          // the source server rejected the login
  SourceIsSelf,  // the source is this very server (would copy a mailbox onto itself)
  Protocol,      // the source server sent something we cannot parse or did not expect
  Closed,        // the source server closed the connection (BYE or EOF)
  Throttled,     // the source server asks us to slow down
  Quota,         // the destination has no space for the message
  LocalStorage,  // lib-storage failed for another reason
  NotFound,      // a folder/user that should exist does not
  Cancelled,     // stopped by signal or by the admin
  Busy,          // another migration of the same account is running
  Config,        // bad option or setting
  Internal,      // a bug in this tool
};

const char* errorKindName(ErrorKind kind);
// Whether retrying the same operation later can help (network trouble, throttling).
bool errorKindRetriable(ErrorKind kind);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorKind kind, std::string message, std::string hint = {})
      : ok_(false), kind_(kind), message_(std::move(message)), hint_(std::move(hint)) {}

  static Status ok() { return {}; }

  bool isOk() const { return ok_; }
  ErrorKind kind() const {
    assert(!ok_);
    return kind_;
  }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }
  bool retriable() const { return !ok_ && errorKindRetriable(kind_); }

  // "message (hint)" or just "message"; "ok" for success.
  std::string describe() const;
  // Returns a copy whose message is "prefix: message".
  Status withPrefix(const std::string& prefix) const;

 private:
  bool ok_ = true;
  ErrorKind kind_ = ErrorKind::Internal;
  std::string message_;
  std::string hint_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).isOk());
  }
  bool isOk() const { return v_.index() == 0; }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Status& status() const {
    static const Status kOk;
    return isOk() ? kOk : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace migrate

// Returns the Status of `expr` from the calling function (returning Status or Result<T>) when it
// is an error; goes on otherwise. For `Status st = f(); if (!st.isOk()) { return st; }`.
#define MIGRATE_RETURN_IF_ERROR(expr)                    \
  do {                                                   \
    ::migrate::Status migrate_status_or_error_ = (expr); \
    if (!migrate_status_or_error_.isOk()) {              \
      return migrate_status_or_error_;                   \
    }                                                    \
  } while (false)

// Evaluates `rexpr` (a Result<T>); on error returns its Status from the calling function, else
// moves the value into `lhs`, which may declare a variable: MIGRATE_ASSIGN_OR_RETURN(auto x, f());
// For `Result<T> r = f(); if (!r.isOk()) { return r.status(); } T x = std::move(r).value();`.
// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` may be a declaration, `result` is a name.
#define MIGRATE_ASSIGN_OR_RETURN(lhs, rexpr) \
  MIGRATE_ASSIGN_OR_RETURN_IMPL_(MIGRATE_CONCAT_(migrate_result_, __LINE__), lhs, rexpr)
#define MIGRATE_CONCAT_INNER_(a, b) a##b
#define MIGRATE_CONCAT_(a, b) MIGRATE_CONCAT_INNER_(a, b)
#define MIGRATE_ASSIGN_OR_RETURN_IMPL_(result, lhs, rexpr) \
  auto result = (rexpr);                                   \
  if (!result.isOk()) {                                    \
    return result.status();                                \
  }                                                        \
  lhs = std::move(result).value()
// NOLINTEND(bugprone-macro-parentheses)
