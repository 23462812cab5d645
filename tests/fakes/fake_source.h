#pragma once
// A small IMAP server model (folders, messages, flags, UIDVALIDITY, MODSEQ) answering exactly the
// commands the migration engine sends, over FakeImapServer. Lets engine tests change the source
// between runs (new mail, flag changes, UIDVALIDITY change) and inject faults.

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fakes/fake_imap_server.h"

namespace migrate::testing {

struct FakeMessage {
  uint32_t uid = 0;
  std::vector<std::string> flags;  // e.g. "\\Seen", "$Forwarded"
  std::string internalDate = "01-Jan-2020 10:00:00 +0000";
  std::string bytes;
  uint64_t modseq = 1;
  // Gmail mode: X-GM-LABELS and X-GM-MSGID (the same message has the same ID in every folder).
  std::vector<std::string> labels;
  uint64_t gmMsgId = 0;
  // The server answers BODY[] NIL for it (a message it cannot read), as long as this is true.
  bool noBody = false;
  // What BINARY[] sends when not empty (e.g. a message with its base64 parts decoded, as
  // Dovecot does); else `bytes`. BODY[] sends `bytes` with each NUL as 0x80, as Dovecot does.
  std::string binaryBytes;
};

struct FakeFolder {
  std::string name;  // raw (mUTF-7), with '/' as delimiter
  std::vector<std::string> attributes;
  uint32_t uidValidity = 1;
  uint32_t uidNext = 1;
  bool subscribed = true;
  std::vector<FakeMessage> messages;
};

class FakeSource {
 public:
  FakeSource();
  std::string password = "secret";
  // Non-empty: AUTHENTICATE XOAUTH2 / OAUTHBEARER (add AUTH=XOAUTH2 etc. to `capabilities`)
  // succeed only with this access token; another token gets Gmail's JSON error challenge
  // ({"status":"401",...}) and, after the client's answer, NO.
  std::string oauthToken;
  std::atomic<int> oauthAttempts{0};
  std::string capabilities =
      "IMAP4rev1 AUTH=PLAIN SASL-IR NAMESPACE LIST-EXTENDED SPECIAL-USE CONDSTORE LITERAL+";
  std::string namespacePrefix;  // e.g. "INBOX."
  char delimiter = '/';
  std::map<std::string, FakeFolder> folders;
  uint64_t highestModSeq = 1;
  // Drop the connection after this many BODY[] messages have been sent (-1: never).
  int dropAfterBodies = -1;
  int dropsLeft = 1;  // how many times the drop above happens
  // Answer this many body FETCHes with Office 365's throttling NO.
  int throttleFetches = 0;
  // A body FETCH skips the message with this UID and ends "NO [EXPUNGEISSUED]", as Dovecot does
  // when a message is expunged while it is being fetched (0: off).
  uint32_t expungeDuringFetch = 0;
  std::atomic<int> compressions{0};  // COMPRESS DEFLATE commands (add COMPRESS=DEFLATE to `capabilities`)
  std::atomic<int> bodiesSent{0};
  std::atomic<int> examines{0};
  std::atomic<int> fetches{0};
  std::atomic<int> binaryFetches{0};  // UID FETCH commands with BINARY.PEEK[] (add BINARY to `capabilities`)
  std::atomic<bool> sawWrite{false};  // a SELECT/STORE/APPEND/EXPUNGE/COPY/BODY[] without PEEK

  FakeFolder& folder(const std::string& name, std::vector<std::string> attributes = {});
  // Appends a message with the next UID; returns the UID.
  uint32_t add(const std::string& folder, const std::string& bytes, std::vector<std::string> flags = {},
               const std::string& internalDate = "01-Jan-2020 10:00:00 +0000");
  void setFlags(const std::string& folder, uint32_t uid, std::vector<std::string> flags);

  // Gmail mode: X-GM-EXT-1, the [Gmail] folders with their special-use attributes, and labels
  // as folders. Call once on a fresh source.
  void makeGmail();
  // A Gmail message: in "[Gmail]/All Mail" (unless it is in Trash or Spam) and in the folder of
  // each label ("\\Inbox" is INBOX, "\\Sent" the Sent Mail folder, "\\Draft" Drafts,
  // "\\Trash" / "\\Spam" those folders; "\\Important" and "\\Starred" the views), with
  // X-GM-LABELS (the selected folder's own label left out) and one X-GM-MSGID.
  void addGmail(const std::string& bytes, const std::vector<std::string>& labels,
                std::vector<std::string> flags = {},
                const std::string& internalDate = "01-Jan-2020 10:00:00 +0000");
  static std::string makeMessage(const std::string& subject, const std::string& messageId,
                                 size_t bodyBytes = 100);

  // A new connection to this source.
  std::unique_ptr<net::Transport> connect();

 private:
  std::string handle(const std::string& tag, const std::string& command);
  std::string handleOAuth(const std::string& tag, const std::string& command);
  std::string checkOAuth(const std::string& tag, const std::string& response);
  // An AUTHENTICATE XOAUTH2/OAUTHBEARER in progress: 1 waits for the client's response to "+",
  // 2 for its answer to the error challenge.
  int oauthStage_ = 0;
  std::string oauthTag_;
  uint64_t nextGmMsgId_ = 1000;
  std::string selected_;
  std::vector<std::unique_ptr<FakeImapServer>> servers_;
};

}  // namespace migrate::testing
