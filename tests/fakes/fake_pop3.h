#pragma once
// A scripted POP3 server (on FakeImapServer, which hands it each command's verb and arguments)
// listing a maildrop: each message's UIDL and the bytes it sends for TOP. USER/PASS log in with
// any password unless `password` is set.

#include <memory>
#include <string>
#include <vector>

#include "fakes/fake_imap_server.h"

namespace migrate::testing {

struct PopMessage {
  std::string uidl;
  std::string bytes;
};

class FakePop3 {
 public:
  std::vector<PopMessage> messages;
  std::string password;  // "": any
  int tops = 0;          // TOP commands answered

  // A server answering as this maildrop; the object must outlive it.
  std::unique_ptr<FakeImapServer> start();
  std::string answer(const std::string& verb, const std::string& args);
};

}  // namespace migrate::testing
