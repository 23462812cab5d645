#include "engine/source_connection.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "options/option_values.h"

namespace migrate {

namespace {

bool usesOAuth(const SourceOptions& src) {
  return !src.oauth2TokenFile.empty() || !src.oauth2TokenCommand.empty();
}

}  // namespace

Status checkLoginData(const SourceOptions& src, const std::string& localUser) {
  if (src.host.empty()) {
    return Status(ErrorKind::Config, "no source host for " + localUser,
                  "give --source-host or set " + options::settingRef("migrate_source_host"));
  }
  if (src.user.empty()) {
    return Status(ErrorKind::Config, "no source login name for " + localUser,
                  "give --source-user or set " + options::settingRef("migrate_source_user"));
  }
  const bool oauth = usesOAuth(src);
  if (!src.oauth2TokenFile.empty() && !src.oauth2TokenCommand.empty()) {
    return Status(ErrorKind::Config, "both an OAuth2 token file and a token command are set for " + localUser,
                  "set only one of migrate_source_oauth2_token_file and migrate_source_oauth2_token_command");
  }
  if (oauth && !src.password.empty()) {
    return Status(ErrorKind::Config, "both a source password and an OAuth2 token are set for " + localUser,
                  "set only one: migrate_source_password, or migrate_source_oauth2_token_file / "
                  "migrate_source_oauth2_token_command");
  }
  if (oauth && !src.masterUser.empty()) {
    return Status(ErrorKind::Config,
                  "a master-user login needs a password, not an OAuth2 token (" + localUser + ")",
                  "drop the master user to log in with the user's token");
  }
  if (!oauth && src.password.empty()) {
    return Status(ErrorKind::Config, "no source password for " + localUser,
                  "give --source-password-file, --source-password-stdin, --source-oauth2-token-file or "
                  "--source-oauth2-token-command, or set migrate_source_password in the userdb");
  }
  return Status::ok();
}

SourceConnection::SourceConnection(const SourceOptions& src, SourceConnectionEnv env)
    : src_(src), env_(std::move(env)) {}

SourceConnection::~SourceConnection() = default;

Status SourceConnection::open() {
  MIGRATE_RETURN_IF_ERROR(checkLoginData(src_, env_.localUser));
  const bool oauth = usesOAuth(src_);
  if (src_.tlsMode == TlsMode::None) {
    env_.warn(std::string(oauth ? "the OAuth2 access token" : "the password") +
              " is sent without encryption (--source-tls none)");
  }
  if (!src_.tls.verify && src_.tlsMode != TlsMode::None) {
    env_.warn("TLS certificate verification is off (--insecure)");
  }
  MIGRATE_RETURN_IF_ERROR(openSession());
  Status st = oauth ? loginOAuth() : session_->login(src_.user, src_.password, src_.masterUser);
  if (!st.isOk() || !src_.compress) {
    return st;
  }
  st = session_->enableCompression();
  if (st.isOk() && session_->compressed()) {
    env_.note("COMPRESS=DEFLATE active");
  }
  return st;
}

void SourceConnection::close(bool logout) {
  if (!session_) {
    return;
  }
  if (logout) {
    (void)session_->logout();
  } else {
    session_->close();
  }
  session_.reset();
}

// Connects, reads the greeting and does STARTTLS when asked: a session ready to log in.
Status SourceConnection::openSession() {
  if (!slot_) {
    MIGRATE_RETURN_IF_ERROR(acquireSlot());
  }
  net::Endpoint ep{src_.host, src_.port};
  auto t = env_.connect ? env_.connect(src_)
                        : net::connectTcp(ep, src_.tlsMode == TlsMode::Imaps, src_.tls, src_.timeouts);
  if (!t.isOk()) {
    return t.status();
  }
  if (env_.maxBytesPerSecond > 0) {
    t = net::rateLimited(std::move(t).value(), src_.host, env_.maxBytesPerSecond);
  }
  imap::SessionOptions so;
  so.tempDir = env_.tempDir;
  so.peerName = src_.host + ":" + std::to_string(src_.port);
  so.greetingTimeoutMs = src_.timeouts.connectMs;
  so.ioTimeoutMs = src_.timeouts.ioMs;
  so.implicitTls = src_.tlsMode == TlsMode::Imaps;
  so.host = src_.host;
  so.port = src_.port;
  session_ = std::make_unique<imap::Session>(std::move(t).value(), so);
  if (!src_.rawlogDir.empty()) {
    MIGRATE_RETURN_IF_ERROR(session_->startRawlog(src_.rawlogDir));
  }
  MIGRATE_RETURN_IF_ERROR(session_->readGreeting());
  if (src_.tlsMode == TlsMode::StartTls) {
    return session_->startTls(src_.tls);
  }
  return Status::ok();
}

// A connection slot of the source host, held while the connection lives (a re-login on a new
// connection keeps it). Waits, polling `cancelled`, while the host is full.
Status SourceConnection::acquireSlot() {
  std::shared_ptr<net::ConnectionLimiter> limiter =
      net::connectionLimitFor(src_.host, env_.maxConnectionsPerHost);
  if (!limiter) {
    return Status::ok();
  }
  if (!limiter->tryAcquire()) {
    env_.note("waiting for a free connection to " + src_.host + " (" + std::to_string(limiter->inUse()) +
              " in use)");
    while (!limiter->acquire(std::chrono::milliseconds(200))) {
      if (env_.cancelled && env_.cancelled()) {
        return Status(ErrorKind::Cancelled, "cancelled while waiting for a free connection to " + src_.host +
                                                " for " + env_.localUser);
      }
    }
  }
  slot_ = net::ConnectionSlot(std::move(limiter));
  return Status::ok();
}

Result<std::string> SourceConnection::oauthToken(bool refresh) {
  if (!token_) {
    token_ = std::make_unique<OAuth2Token>(
        src_.oauth2TokenFile, src_.oauth2TokenCommand,
        std::vector<std::string>{"MIGRATE_SOURCE_USER=" + src_.user, "MIGRATE_SOURCE_HOST=" + src_.host,
                                 "MIGRATE_LOCAL_USER=" + env_.localUser});
  }
  Result<std::string> token = token_->token(refresh);
  if (token.isOk() && token_->fileReadableByOthers() && !tokenFileWarned_) {
    tokenFileWarned_ = true;
    env_.warn(token_->describe() + " is readable by group or others: chmod 600 it");
  }
  return token;
}

// The token is obtained once per run and again when the server refuses it (it expired since,
// also between the reconnects of one run): when the new token differs, one more login on a new
// connection.
Status SourceConnection::loginOAuth() {
  MIGRATE_ASSIGN_OR_RETURN(std::string token, oauthToken(false));
  Status st = session_->loginOAuth(src_.user, token);
  const imap::Session::OAuthFailure& failure = session_->oauthFailure();
  if (st.isOk() || !failure.refused || !failure.expired) {
    return st;
  }
  const std::string refused = token;
  MIGRATE_ASSIGN_OR_RETURN(token, oauthToken(true));
  if (token == refused) {
    if (token_->fromCommand()) {
      return Status(st.kind(), st.message(),
                    "the token is expired or lacks the IMAP scope, and " + token_->describe() +
                        " printed the same one again: it must print a fresh, valid access token");
    }
    return Status(st.kind(), st.message(),
                  "the token in " + token_->describe() +
                      " is expired or lacks the IMAP scope: write a new one into it, or use "
                      "--source-oauth2-token-command, which runs again when the token expires");
  }
  close(false);
  MIGRATE_RETURN_IF_ERROR(openSession());
  st = session_->loginOAuth(src_.user, token);
  if (!st.isOk() && session_->oauthFailure().refused) {
    return Status(st.kind(), st.message(),
                  "a new token from " + token_->describe() +
                      " was refused too: check that it is issued for '" + src_.user +
                      "' with the IMAP scope (Gmail: https://mail.google.com/; Office 365: "
                      "IMAP.AccessAsUser.All, or IMAP.AccessAsApp for an app-only token)");
  }
  return st;
}

double suggestedBackoff(const std::string& text) {
  const std::string lower = lowerAscii(text);
  constexpr std::string_view kMarker = "backoff time:";
  size_t p = lower.find(kMarker);
  if (p == std::string::npos) {
    return 0;
  }
  double ms = std::strtod(lower.c_str() + p + kMarker.size(), nullptr);
  return ms > 0 ? ms / 1000.0 : 0;
}

double reconnectDelay(const Status& error, uint32_t idle) {
  double delay = idle == 0 ? 1.0 : std::min(60.0, 2.0 * static_cast<double>(1u << std::min(idle, 5u)));
  if (error.kind() == ErrorKind::Throttled) {
    delay = std::max({delay, suggestedBackoff(error.message()), 10.0 * (idle + 1)});
    delay = std::min(delay, 300.0);
  }
  return delay;
}

}  // namespace migrate
