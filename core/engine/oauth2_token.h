#pragma once
// The OAuth2 access token for an XOAUTH2 / OAUTHBEARER login (Gmail, Office 365), read from a
// file or printed by a command. Obtaining the token (service account, app registration, refresh
// token) is the admin's business: this only fetches what the file or command provides.
//
// Contract:
// - token(false) returns the cached token, obtaining it on the first call; token(true) obtains
//   it again (re-reads the file, which a cron job may have renewed, or runs the command again).
// - File: whitespace around the token is trimmed; a file that is not a regular file, is empty,
//   or is larger than kMaxTokenBytes is a Config error. A file readable by group or others is
//   used anyway and sets fileReadableByOthers().
// - Command: run as `/bin/sh -c COMMAND` in its own process group, stdin /dev/null, stdout
//   captured (at most kMaxTokenBytes), the first line of stderr kept for the error message,
//   killed after the timeout. `env` entries ("NAME=value") are added to the inherited
//   environment. A non-zero exit, a signal, the timeout or too much output is a Config error.
// - The token must be one word of printable ASCII; anything else (JSON, several lines) is a
//   Config error that never quotes the output.
// - No message, hint or warning ever contains the token. The command string may appear in
//   messages: it is configuration, not a secret.
// Not thread-safe; blocking (a command may take up to the timeout).

#include <cstddef>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate {

class OAuth2Token {
 public:
  static constexpr size_t kMaxTokenBytes = size_t{64} * 1024;
  static constexpr int kDefaultTimeoutMs = 30000;

  // Exactly one of file and command is non-empty.
  OAuth2Token(std::string file, std::string command, std::vector<std::string> env = {},
              int timeoutMs = kDefaultTimeoutMs);
  ~OAuth2Token();
  OAuth2Token(const OAuth2Token&) = delete;
  OAuth2Token& operator=(const OAuth2Token&) = delete;

  Result<std::string> token(bool refresh);

  bool fromCommand() const { return !command_.empty(); }
  // Set by the last file read: group or others may read the token file.
  bool fileReadableByOthers() const { return fileReadableByOthers_; }
  // "the OAuth2 token file /path" or "the OAuth2 token command 'get-token alice'", for messages.
  std::string describe() const;

 private:
  Result<std::string> readFile();
  Result<std::string> runCommand();

  std::string file_;
  std::string command_;
  std::vector<std::string> env_;
  int timeoutMs_;
  std::string cached_;
  bool fileReadableByOthers_ = false;
};

}  // namespace migrate
