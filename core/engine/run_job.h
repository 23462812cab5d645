#pragma once
// The migration `doveadm migrate start` (or a panel over the HTTP API) started for a user, kept
// with the user (dovecot-migrate.job in the state directory) so that it can be paused, resumed
// and run again by a schedule with the same options, and the source password it was given
// (dovecot-migrate.secret, mode 0600, only while the job may still need it).
//
//   dovecot-migrate-job  1
//   created  <unix>
//   trigger  panel | doveadm       who started it (the runs' status says how each run began)
//   paused   0 | 1                 a pause was asked for: the run ends "paused", not "stopped"
//   held     0 | 1                 stopped or paused on purpose (migrate stop/pause): nothing
//                                  restarts it on its own, only a start or resume
//   secret   0 | 1                 the password is in dovecot-migrate.secret
//   notify   <address>             a result mail goes there when a run of the job ends
//   arg      <one option of `doveadm migrate` after -u USER>   (repeated, in order)
//
// The job file never holds the password. Unknown keys are ignored.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace migrate {

struct RunJob {
  int64_t created = 0;
  std::string trigger;
  bool paused = false;
  bool held = false;
  bool secret = false;
  std::string notify;
  std::vector<std::string> args;
};

constexpr int kRunJobVersion = 1;
constexpr const char* kRunJobFile = "dovecot-migrate.job";        // kStateFilePrefix + "job"
constexpr const char* kRunSecretFile = "dovecot-migrate.secret";  // kStateFilePrefix + "secret"

std::string serializeRunJob(const RunJob& job);
Result<RunJob> parseRunJob(const std::string& text);

// <dir>/dovecot-migrate.job; nullopt when there is none.
Result<std::optional<RunJob>> readRunJob(const std::string& dir);
Status writeRunJob(const std::string& dir, const RunJob& job);

// The stored password: written 0600 and synced (a resume after a crash needs it), read back,
// removed (no error when there is none). The text is never logged; errors name only the file.
Status writeRunSecret(const std::string& dir, const std::string& password);
Result<std::optional<std::string>> readRunSecret(const std::string& dir);
Status removeRunSecret(const std::string& dir);

}  // namespace migrate
