#pragma once
// The connection to the source server for one migration run: checks that the login data is
// complete, connects (implicit TLS or STARTTLS), logs in with a password, as a master user or
// with an OAuth2 token (fetched again once when the server refuses it as expired), turns on
// COMPRESS=DEFLATE, and holds one of the source host's connection slots (net/limits.h) while it
// lives. Also: how long a run waits before reconnecting after an error. Calling thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "engine/oauth2_token.h"
#include "engine/options.h"
#include "imap/session.h"
#include "net/limits.h"
#include "net/transport.h"

namespace migrate {

// Opens the connection to the source (tests pass an in-memory transport to a fake server).
using TransportFactory = std::function<Result<std::unique_ptr<net::Transport>>(const SourceOptions&)>;

// What the connection needs from its run.
struct SourceConnectionEnv {
  std::string localUser;                         // for messages, and MIGRATE_LOCAL_USER of a token command
  std::string tempDir;                           // where the session spools large messages
  uint64_t maxBytesPerSecond = 0;                // 0: unlimited (net::rateLimited)
  uint32_t maxConnectionsPerHost = 0;            // 0: unlimited (net::connectionLimitFor)
  std::function<bool()> cancelled;               // polled while waiting for a connection slot
  TransportFactory connect;                      // null: TCP, with TLS as the options say
  std::function<void(const std::string&)> note;  // a progress line ("COMPRESS=DEFLATE active")
  std::function<void(const std::string&)> warn;  // a warning for the report
};

// A Config error naming what is missing or contradictory in the login data of `src` (no host, no
// login name, no password or token, both a password and a token, ...); OK when it is usable.
Status checkLoginData(const SourceOptions& src, const std::string& localUser);

class SourceConnection {
 public:
  // `src` must have its defaults applied (SourceOptions::applyDefaults()).
  SourceConnection(const SourceOptions& src, SourceConnectionEnv env);
  ~SourceConnection();
  SourceConnection(const SourceConnection&) = delete;
  SourceConnection& operator=(const SourceConnection&) = delete;

  // A new connection, logged in (and compressed when asked). Warns about an unencrypted login or
  // an unverified certificate each time. The connection slot, once held, is kept.
  Status open();
  bool isOpen() const { return session_ != nullptr; }
  imap::Session& session() { return *session_; }
  // Ends the connection: with LOGOUT when `logout`, else by closing the socket.
  void close(bool logout);
  // Gives the host's connection slot back (after close(): the next open() waits its turn).
  void releaseSlot() { slot_.release(); }

 private:
  Status openSession();
  Status acquireSlot();
  Result<std::string> oauthToken(bool refresh);
  Status loginOAuth();

  const SourceOptions& src_;
  SourceConnectionEnv env_;
  net::ConnectionSlot slot_;  // declared before session_: released after the connection closes
  std::unique_ptr<imap::Session> session_;
  std::unique_ptr<OAuth2Token> token_;  // one per run: a refreshed token serves later reconnects
  bool tokenFileWarned_ = false;
};

// Office 365's "Request is throttled. Suggested Backoff Time: 4000 milliseconds" in `text`, in
// seconds (0: none).
double suggestedBackoff(const std::string& text);

// Seconds to wait before the next attempt after `error`, when the last `idle` attempts made no
// progress: 1 s after progress, then 4, 8 ... 60 s; throttling waits at least what the server
// suggests and 10 s per idle attempt, at most 5 minutes.
double reconnectDelay(const Status& error, uint32_t idle);

}  // namespace migrate
