#pragma once
// A client session with the source IMAP server: greeting, STARTTLS, CAPABILITY, login, and the
// read-only commands the migration needs (NAMESPACE, LIST, LSUB, STATUS, EXAMINE, UID FETCH with
// BODY.PEEK). Blocking, one thread. The source is never changed: no command here selects
// read-write or sets flags.
//
// Errors: Closed (BYE/EOF, with the server's text), Timeout, Tls, Auth (NO to LOGIN/AUTHENTICATE,
// with the server's text and the usual causes as hint), Throttled (Gmail [THROTTLED]/[UNAVAILABLE],
// Office 365 "Request is throttled"), Protocol (unparseable or unexpected responses, tagged
// BAD/NO for commands that must succeed).

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "imap/parser.h"
#include "mail/message.h"
#include "net/rawlog_transport.h"
#include "net/transport.h"

namespace migrate::imap {

struct ListEntry {
  std::string rawName;                        // as on the wire (mUTF-7 unless UTF8=ACCEPT)
  char delimiter = 0;                         // 0: NIL (flat)
  std::vector<std::string> attributes;        // e.g. "\HasNoChildren", "\Sent"; as sent
  bool hasAttribute(const char* name) const;  // case-insensitive
};

struct NamespaceEntry {
  std::string prefix;  // raw, e.g. "INBOX."
  char delimiter = 0;
  // Prefixes of the other users' and shared namespaces (not migrated), e.g. "shared/".
  std::vector<std::string> otherPrefixes;
};

struct MailboxStatus {
  uint32_t messages = 0;
  uint32_t uidNext = 0;
  uint32_t uidValidity = 0;
  uint64_t highestModSeq = 0;  // 0: not reported (no CONDSTORE, or NOMODSEQ)
};

struct FetchedMessage {
  uint32_t uid = 0;
  MessageFlags flags;
  bool hasFlags = false;
  int64_t internalDate = 0;
  int tzOffsetMinutes = 0;
  bool hasInternalDate = false;
  uint64_t size = 0;  // RFC822.SIZE
  bool hasSize = false;
  const MessageBody* body = nullptr;  // BODY[] when fetched
  std::string messageId;              // from BODY[HEADER.FIELDS (MESSAGE-ID)] when fetched
  std::string header;                 // BODY[HEADER] when fetched (and small enough to be inline)
  std::string xGuid;                  // Dovecot's X-GUID when fetched
  // Gmail (X-GM-EXT-1): the message's labels ("\\Inbox", "\\Sent", "Work/Projects", as the
  // server spells them: modified UTF-7 like folder names) and its account-wide message ID.
  std::vector<std::string> gmLabels;
  bool hasGmLabels = false;
  uint64_t gmMsgId = 0;
};

struct SessionOptions {
  std::string tempDir = "/tmp";  // for spooling large bodies
  ParserLimits limits;
  std::string peerName;           // for messages, e.g. "imap.old.example:993"
  int greetingTimeoutMs = 30000;  // a server that says nothing this long is not speaking IMAP to us
  int ioTimeoutMs = 300000;       // restored after the greeting
  bool implicitTls = false;       // for hints
  // For OAUTHBEARER's host= and port= (RFC 7628); empty / 0: not sent.
  std::string host;
  uint16_t port = 0;
};

class Session {
 public:
  Session(std::unique_ptr<net::Transport> transport, SessionOptions options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Records the connection into a wire trace in `dir` (net/rawlog_transport.h) from now on;
  // call before readGreeting(). Passwords and tokens are redacted. Config error when `dir` is
  // not a writable directory.
  Status startRawlog(const std::string& dir);
  // The wire trace, if any (for its file names and a failed write).
  const net::RawlogTransport* rawlog() const { return rawlog_; }
  // Reads the greeting. PREAUTH sets loggedIn().
  Status readGreeting();
  Status startTls(const net::TlsOptions& tls);
  Status capability();
  // AUTHENTICATE PLAIN (with authzid = user when masterUser is set) if offered, else LOGIN.
  // Refuses to send a password over plaintext when the server says LOGINDISABLED.
  Status login(const std::string& user, const std::string& password, const std::string& masterUser);
  // AUTHENTICATE XOAUTH2 (Gmail, Office 365) if offered, else OAUTHBEARER (RFC 7628), with the
  // OAuth2 access token; SASL-IR when offered. A refusal is an Auth error that gives the status
  // of the server's JSON error challenge ("401": expired token or no IMAP scope), also kept in
  // oauthFailure(); throttling as for login(). Neither mechanism offered: an Auth error naming
  // the mechanisms the server offers. The token never appears in a message.
  Status loginOAuth(const std::string& user, const std::string& token);
  struct OAuthFailure {
    bool refused = false;  // the server said NO to the token (not: no mechanism, connection lost)
    std::string status;    // the JSON "status", e.g. "401"; empty when the server sent none
    // The token is invalid or expired, so a new one may work: Gmail's "401", RFC 7628's
    // "invalid_token" (Dovecot), or no reason at all (Office 365).
    bool expired = false;
  };
  // The outcome of the last loginOAuth() (reset by each call).
  const OAuthFailure& oauthFailure() const { return oauthFailure_; }
  Status logout();
  // COMPRESS DEFLATE (RFC 4978) when the server offers COMPRESS=DEFLATE (else, or when it
  // refuses, ok and nothing done: see compressed()); after the OK both directions are deflated
  // under the wire trace, which keeps showing plain IMAP. Protocol error when the server sends
  // anything after its OK before compressing.
  Status enableCompression();
  bool compressed() const { return compressed_; }

  bool hasCapability(const std::string& cap) const;  // case-insensitive, e.g. "CONDSTORE", "AUTH=PLAIN"
  bool loggedIn() const { return loggedIn_; }
  const std::string& greetingText() const { return greeting_; }

  // The personal namespace (first entry); {"", 0} when NAMESPACE is not supported.
  Result<NamespaceEntry> personalNamespace();
  // LIST "" "*" (with RETURN (SPECIAL-USE) when supported).
  Result<std::vector<ListEntry>> list();
  // LSUB "" "*": raw names.
  Result<std::vector<std::string>> lsub();
  // STATUS for many mailboxes, pipelined (one round trip). Result in the order of rawNames;
  // a mailbox the server refuses (NO) gets an error Status in `errors` at the same index.
  struct StatusResult {
    std::vector<MailboxStatus> statuses;
    std::vector<Status> errors;
  };
  Result<StatusResult> statusMany(const std::vector<std::string>& rawNames, bool withModSeq);
  // EXAMINE (read-only SELECT).
  Result<MailboxStatus> examine(const std::string& rawName);

  // UID FETCH first:last (last 0 = *) of the given items. `items` is the IMAP item list without
  // parentheses, e.g. "UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]". Calls onMessage for each
  // message with uid >= first (servers return the last message for "n:*" when n > max uid);
  // an error from onMessage aborts (the connection is then unusable: the caller drops it).
  // `modifiers` e.g. "(CHANGEDSINCE 123)".
  using MessageFn = std::function<Status(const FetchedMessage&)>;
  Status uidFetch(uint32_t first, uint32_t last, const std::string& items, const MessageFn& onMessage,
                  const std::string& modifiers = "");
  // UID FETCH of an explicit UID set ("3:7,9"); every returned message goes to onMessage.
  Status uidFetchSet(const std::string& uidSet, const std::string& items, const MessageFn& onMessage);

  // Bytes received from the server so far (for progress / bench).
  uint64_t bytesReceived() const { return bytesReceived_; }

  // Drops the connection without LOGOUT.
  void close();

 private:
  using UntaggedFn = std::function<Status(const Response&)>;

  std::string nextTag();
  Status send(const std::string& line);  // line without tag; handles synchronizing literals
  // `traced`: how many leading bytes of cmd a wire trace may show; the rest (a password, a
  // token) is redacted.
  Status sendTagged(const std::string& tag, const std::string& cmd, size_t traced = std::string::npos);
  // Writes line[start, end); bytes from redactFrom on are redacted in a wire trace.
  Status writeTraced(const std::string& line, size_t start, size_t end, size_t redactFrom);
  // Reads responses until the tagged response for `tag`. Untagged ones go to onUntagged (if set),
  // else to the default handler (capabilities, BYE). A continuation request goes to
  // onContinuation (AUTHENTICATE's challenge); without one it is a protocol error. Returns the
  // tagged response.
  Result<Response> waitTagged(const std::string& tag, const UntaggedFn& onUntagged,
                              const UntaggedFn& onContinuation = nullptr);
  // Reads the next response (blocking).
  Result<Response> readResponse();
  Status handleCommonUntagged(const Response& r);
  Status sendAuthenticate(const std::string& tag, const std::string& mech, const std::string& ir);
  Status fetchImpl(const std::string& set, uint32_t first, const std::string& items,
                   const MessageFn& onMessage, const std::string& modifiers);
  Status taggedFailure(const Response& r, const std::string& what) const;
  Result<Response> simpleCommand(const std::string& cmd, const UntaggedFn& onUntagged);
  void parseCapabilities(const std::string& text);
  LiteralSink* claimLiteral(const LiteralContext& ctx);
  std::string closedMessage() const;

  std::unique_ptr<net::Transport> transport_;
  SessionOptions options_;
  ResponseParser parser_;
  std::deque<Response> queue_;
  std::vector<Response> scratch_;
  std::string readBuf_;
  std::set<std::string> caps_;
  std::string greeting_;
  bool loggedIn_ = false;
  bool closed_ = false;
  uint32_t tagCounter_ = 0;
  uint64_t bytesReceived_ = 0;

  // Bodies of FETCH BODY[] literals, in the order of the responses that carry them.
  class BodySink;
  std::deque<std::unique_ptr<MessageBody>> bodies_;  // filled, waiting for their response
  std::vector<std::unique_ptr<MessageBody>> spareBodies_;
  std::vector<std::unique_ptr<MessageBody>> inUse_;  // bodies of the last returned response
  std::unique_ptr<BodySink> bodySink_;
  Status pendingError_;
  std::string byeText_;
  bool byeThrottle_ = false;
  OAuthFailure oauthFailure_;
  net::RawlogTransport* rawlog_ = nullptr;  // the outermost layer of transport_ when tracing
  bool compressed_ = false;
};

// Parses an IMAP date-time ("17-Jul-1996 02:44:25 -0700") into unix time and zone offset.
bool parseInternalDate(const std::string& s, int64_t& unixTime, int& tzOffsetMinutes);

}  // namespace migrate::imap
