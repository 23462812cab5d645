#include "fakes/fake_imap_server.h"

#include <cstdlib>

#include "net/deflate_transport.h"

namespace migrate::testing {

FakeImapServer::FakeImapServer(std::string greeting, Handler handler)
    : pipe_(net::makeMemoryPipe(10000)), greeting_(std::move(greeting)), handler_(std::move(handler)) {
  serverEnd_ = pipe_.server.get();
  thread_ = std::thread([this] { serve(); });
}

FakeImapServer::~FakeImapServer() {
  serverEnd_->close();  // owned by pipe_.server, or by deflate_ after COMPRESS
  if (pipe_.client) {
    pipe_.client->close();
  }
  thread_.join();
}

std::unique_ptr<net::Transport> FakeImapServer::clientTransport() {
  return std::move(pipe_.client);
}

std::vector<std::string> FakeImapServer::commands() const {
  std::lock_guard<std::mutex> lock(mu_);
  return commands_;
}

void FakeImapServer::serve() {
  net::Transport* t = pipe_.server.get();
  if (!t->writeAll(greeting_.data(), greeting_.size()).isOk()) {
    return;
  }
  std::string buf;
  char tmp[65536];
  std::string pendingLine;
  while (true) {
    size_t nl = buf.find("\r\n");
    if (nl == std::string::npos) {
      Result<size_t> n = t->readSome(tmp, sizeof(tmp));
      if (!n.isOk()) {
        return;
      }
      buf.append(tmp, n.value());
      continue;
    }
    std::string line = buf.substr(0, nl);
    buf.erase(0, nl + 2);
    // A literal at the end of the line: "{N}" (synchronizing) or "{N+}".
    if (!line.empty() && line.back() == '}') {
      size_t open = line.rfind('{');
      if (open != std::string::npos) {
        std::string num = line.substr(open + 1, line.size() - open - 2);
        bool nonSync = !num.empty() && num.back() == '+';
        if (nonSync) {
          num.pop_back();
        }
        size_t len = std::strtoul(num.c_str(), nullptr, 10);
        if (!nonSync) {
          const std::string go = "+ go ahead\r\n";
          if (!t->writeAll(go.data(), go.size()).isOk()) {
            return;
          }
        }
        while (buf.size() < len) {
          Result<size_t> n = t->readSome(tmp, sizeof(tmp));
          if (!n.isOk()) {
            return;
          }
          buf.append(tmp, n.value());
        }
        pendingLine += line.substr(0, open) + "\"" + buf.substr(0, len) + "\"";
        buf.erase(0, len);
        // The rest of the command follows on the next "line".
        size_t nl2 = buf.find("\r\n");
        while (nl2 == std::string::npos) {
          Result<size_t> n = t->readSome(tmp, sizeof(tmp));
          if (!n.isOk()) {
            return;
          }
          buf.append(tmp, n.value());
          nl2 = buf.find("\r\n");
        }
        buf.insert(0, pendingLine);
        pendingLine.clear();
        continue;
      }
    }
    size_t sp = line.find(' ');
    std::string tag = sp == std::string::npos ? line : line.substr(0, sp);
    std::string cmd = sp == std::string::npos ? std::string() : line.substr(sp + 1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      commands_.push_back(cmd);
    }
    std::string out = handler_(tag, cmd);
    const std::string deflateMark = std::string("\x01") + "DEFLATE";
    if (out.size() >= deflateMark.size() &&
        out.compare(out.size() - deflateMark.size(), deflateMark.size(), deflateMark) == 0) {
      out.resize(out.size() - deflateMark.size());
      if (!t->writeAll(out.data(), out.size()).isOk()) {
        return;
      }
      auto d = net::DeflateTransport::create(std::move(pipe_.server));
      if (!d.isOk()) {
        return;
      }
      deflate_ = std::move(d).value();
      t = deflate_.get();
      continue;
    }
    const std::string dropMark = "\x01DROP";
    if (out.size() >= dropMark.size() &&
        out.compare(out.size() - dropMark.size(), dropMark.size(), dropMark) == 0) {
      out.resize(out.size() - dropMark.size());
      if (!out.empty()) {
        (void)t->writeAll(out.data(), out.size());
      }
      t->close();  // the client reads what was sent, then sees the connection closed
      return;
    }
    if (!out.empty() && !t->writeAll(out.data(), out.size()).isOk()) {
      return;
    }
  }
}

}  // namespace migrate::testing
