#pragma once
// The common setup of the engine tests: a scripted source (FakeSource) reached over plaintext
// IMAP, an in-memory sink whose state directory is a fresh temp dir, and options for alice.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/migrator.h"
#include "engine/source_connection.h"
#include "fakes/fake_source.h"
#include "fakes/memory_sink.h"

namespace migrate {

class EngineFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/migrate-engine-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    sink_ = std::make_unique<testing::MemorySink>(dir_);
    options_.localUser = "alice";
    options_.source.host = "imap.old.example";
    options_.source.user = "alice@old.example";
    options_.source.password = "secret";
    options_.source.tlsModeSet = true;
    options_.source.tlsMode = TlsMode::None;
    options_.source.port = 143;
    // Backoff waits are recorded, not slept.
    options_.sleepFn = [this](double s) { slept_.push_back(s); };
  }
  void TearDown() override { ASSERT_EQ(std::system(("rm -rf '" + dir_ + "'").c_str()), 0); }

  // The IMAP port reaches the fake source; POP3's (110 here: no TLS) reaches pop3Server_'s
  // server when a test sets it, ManageSieve's (4190) sieveServer_'s; else nothing listens there.
  MigrationReport run() {
    return runMigration(options_, *sink_, nullptr,
                        [this](const SourceOptions& at) -> Result<std::unique_ptr<net::Transport>> {
                          if (at.port != 110 && at.port != 4190) {
                            return source_.connect();
                          }
                          const auto& server = at.port == 110 ? pop3Server_ : sieveServer_;
                          if (server) {
                            return server();
                          }
                          return Status(ErrorKind::Connect,
                                        "connection refused by " + at.host + ":" + std::to_string(at.port));
                        });
  }

  // The connection a run of options_ would open (not yet opened), to the fake source; notes and
  // warnings are collected in notes_ / warnings_.
  std::unique_ptr<SourceConnection> sourceConnection() {
    options_.source.applyDefaults();
    SourceConnectionEnv env;
    env.localUser = options_.localUser;
    env.tempDir = sink_->tempDir();
    env.maxConnectionsPerHost = options_.maxConnectionsPerHost;
    env.cancelled = options_.cancelled;
    env.connect = [this](const SourceOptions&) -> Result<std::unique_ptr<net::Transport>> {
      return source_.connect();
    };
    env.note = [this](const std::string& text) { notes_.push_back(text); };
    env.warn = [this](const std::string& text) { warnings_.push_back(text); };
    return std::make_unique<SourceConnection>(options_.source, std::move(env));
  }

  // Subjects of a destination folder, sorted.
  std::multiset<std::string> subjects(const std::string& folder) const {
    std::multiset<std::string> out;
    for (const testing::StoredMessage* m : sink_->all(folder)) {
      size_t p = m->bytes.find("Subject: ");
      out.insert(m->bytes.substr(p + 9, m->bytes.find("\r\n", p) - p - 9));
    }
    return out;
  }

  // The source rebuilt a folder's index: a new UIDVALIDITY, and its messages renumbered from
  // `firstUid` on.
  void renumberSource(const std::string& folder, uint32_t uidValidity, uint32_t firstUid) {
    testing::FakeFolder& f = source_.folders[folder];
    f.uidValidity = uidValidity;
    uint32_t uid = firstUid;
    for (auto& m : f.messages) {
      m.uid = uid++;
    }
    f.uidNext = uid;
  }

  std::string dir_;
  testing::FakeSource source_;
  std::unique_ptr<testing::MemorySink> sink_;
  MigrationOptions options_;
  std::vector<double> slept_;
  std::function<Result<std::unique_ptr<net::Transport>>()> pop3Server_;
  std::function<Result<std::unique_ptr<net::Transport>>()> sieveServer_;
  std::vector<std::string> notes_;
  std::vector<std::string> warnings_;
};

}  // namespace migrate
