#include "fakes/fake_pop3.h"

#include <cstdlib>

namespace migrate::testing {

std::unique_ptr<FakeImapServer> FakePop3::start() {
  return std::make_unique<FakeImapServer>(
      "+OK ready\r\n",
      [this](const std::string& verb, const std::string& args) { return answer(verb, args); });
}

std::string FakePop3::answer(const std::string& verb, const std::string& args) {
  if (verb == "CAPA") {
    return "+OK\r\nUIDL\r\nTOP\r\nUSER\r\nPIPELINING\r\n.\r\n";
  }
  if (verb == "USER" || verb == "QUIT") {
    return "+OK\r\n";
  }
  if (verb == "PASS") {
    return password.empty() || args == password ? "+OK logged in\r\n"
                                                : "-ERR [AUTH] Authentication failed.\r\n";
  }
  std::string out = "+OK\r\n";
  if (verb == "UIDL" || verb == "LIST") {
    for (size_t i = 0; i < messages.size(); i++) {
      out += std::to_string(i + 1) + " " +
             (verb == "UIDL" ? messages[i].uidl : std::to_string(messages[i].bytes.size())) + "\r\n";
    }
    return out + ".\r\n";
  }
  if (verb == "TOP") {
    tops++;
    const std::string& b = messages[static_cast<size_t>(std::atoi(args.c_str())) - 1].bytes;
    return out + b.substr(0, b.find("\r\n\r\n") + 4) + ".\r\n";
  }
  return "-ERR unknown command\r\n";
}

}  // namespace migrate::testing
