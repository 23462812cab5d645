#pragma once
// Everything a migration of one user needs to know, independent of where it came from
// (doveadm options, plugin { migrate_* } settings, userdb fields, a batch line).

#include <cstdint>
#include <functional>
#include <string>

#include "engine/preset.h"
#include "engine/selection.h"
#include "net/transport.h"
#include "options/service_choice.h"
#include "options/tls_mode.h"

namespace migrate {

struct SourceOptions {
  std::string host;
  uint16_t port = 0;        // 0: 993 for imaps, 143 otherwise
  bool tlsModeSet = false;  // false: imaps on 993 (or when port is 0), STARTTLS otherwise
  TlsMode tlsMode = TlsMode::Imaps;
  std::string user;        // remote login
  std::string password;    // never logged
  std::string masterUser;  // AUTHENTICATE PLAIN authzid=user, authcid=masterUser
  // Instead of the password: log in with an OAuth2 access token (XOAUTH2 / OAUTHBEARER) read
  // from this file, or printed by this command (run with /bin/sh -c; run again when the server
  // refuses the token as expired). At most one of the two; see engine/oauth2_token.h.
  std::string oauth2TokenFile;
  std::string oauth2TokenCommand;
  net::TlsOptions tls;
  net::TimeoutOptions timeouts;
  // COMPRESS=DEFLATE (RFC 4978) after login when the server offers it.
  bool compress = true;
  // --sync-deletions / migrate_sync_deletions: copies made by this tool whose source message is
  // gone are expunged here, and moved here when the source moved them (engine/deletion_sync.h).
  // Default: never delete.
  bool syncDeletions = false;
  // Non-empty: a wire trace of every connection in this directory (net/rawlog_transport.h),
  // passwords and tokens redacted. It must exist and be writable by the user the run is as.
  std::string rawlogDir;
  // The source's POP3 side, whose UIDLs and order INBOX's copies keep (engine/pop3_step.h), and
  // its ManageSieve side, whose scripts are copied: auto (the IMAP host, usual port), no, or a
  // server. Same login and TLS rules as the IMAP connection.
  ServiceChoice pop3;
  ServiceChoice sieve;
  // Which mail to take (docs/presets-and-filters.md). They are source options because the
  // user's settings (plugin { migrate_* }, userdb) reach the engine through SourceOptions.
  // presetName: "generic", "gmail", "office365", "exchange" or an admin preset in
  // `adminPresets` (settings migrate_preset_<name>_*); "" is none, and a Gmail server (X-GM-EXT-1)
  // then gets the gmail preset's folder rules. The engine resolves it (applyPreset()).
  std::string presetName;
  PresetDefinitions adminPresets;
  MessageFilter filter;

  // Fills in the port/TLS defaults described above.
  void applyDefaults();
  // "alice@example.org at imap.old.example:993 (imaps)": for messages; never the password.
  std::string describe() const;
};

struct MigrationOptions {
  SourceOptions source;
  std::string localUser;      // for messages and reports
  bool dryRun = false;        // plan only: nothing is written
  bool verbose = false;       // progress events
  bool quotaPrecheck = true;  // refuse to start when the new mail does not fit the quota
  // Polled between messages and folders; true stops the run cleanly (state saved, batch committed).
  std::function<bool()> cancelled;
  // A dropped connection, a timeout or throttling does not end the run: it reconnects, waits as
  // the server asks (or backs off exponentially) and resumes each folder from its last committed
  // UID. `retries` is how many attempts in a row may make no progress before the run gives up.
  uint32_t retries = 3;
  // Waits between attempts (tests replace it); the default sleeps, polling `cancelled`.
  std::function<void(double seconds)> sleepFn;
  uint32_t batchMessages = 500;       // commit after this many messages ...
  uint64_t batchBytes = 64ull << 20;  // ... or this many bytes ...
  // ... or when the batch is this old (seconds; 0: never), so that over a slow source the user
  // sees the first messages (and progress moves) within about a second, not after 500 of them.
  double batchSeconds = 1.0;
  // Monotonic seconds for batchSeconds (tests replace it); the default reads steady_clock.
  std::function<double()> nowFn;
  // Process-wide limits per source host, shared with every other migration of this process
  // (net/limits.h); 0 = unlimited. The first non-zero value seen for a host applies.
  uint64_t maxBytesPerSecond = 0;      // bytes read + written per second
  uint32_t maxConnectionsPerHost = 0;  // open connections; more wait for a free slot
};

}  // namespace migrate
