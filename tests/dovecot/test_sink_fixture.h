#pragma once
#define MIGRATE_DOVECOT_TEST_HARNESS 1
// Shared fixture of the in-process lib-storage tests: a fresh mail user in ./.test-home per test
// (test_mail_storage_init_user), the DovecotSink over it, and helpers that read mail back through
// lib-storage itself (not through the sink) so the tests check what Dovecot really stored.

#include "dovecot_adapter/dovecot_api.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "dovecot_adapter/dovecot_sink.h"
#include "dovecot_adapter/handles.h"
#include "engine/message.h"
#include "engine/sink.h"

namespace migrate::dovecot::testing {

// A message plus the body it points to.
struct TestMessage {
  explicit TestMessage(const std::string& bytes, const std::string& tempDir = "/tmp");
  TestMessage(const TestMessage&) = delete;
  TestMessage& operator=(const TestMessage&) = delete;
  MessageBody body;
  IncomingMessage msg;
};

// An RFC 5322 message with CRLF line ends, Message-ID <n@test>, about bodyBytes of body.
std::string makeRfc822(int n, size_t bodyBytes = 64);

// What lib-storage has for one message.
struct StoredMail {
  uint32_t uid = 0;
  uint8_t flags = 0;                  // SystemFlag bits
  std::vector<std::string> keywords;  // sorted
  int64_t received = 0;
  std::string guid;
  std::string messageId;
  std::string body;  // as IMAP FETCH BODY[] returns it (CRLF)
  uint64_t virtualSize = 0;
  std::string pop3Uidl;  // what the POP3 server answers for UIDL when stored ("" : none)
  uint32_t pop3Order = 0;
};

class StorageTest : public ::testing::Test {
 protected:
  // Creates the user (maildir, separator '/' unless told otherwise). `extra` are userdb fields
  // ("key=value"): Dovecot settings, or plugin settings for unknown keys.
  void startUser(const std::string& driver = "maildir", const std::vector<std::string>& extra = {},
                 const std::string& driverOpts = "");
  void TearDown() override;

  struct mail_user* user() {
    return ctx_->user;
  }
  Sink& sink() { return *sink_; }

  // All messages of `folder` in UID order, read through lib-storage.
  std::vector<StoredMail> readAll(const std::string& folder);
  // Expunges every message of `folder` (through lib-storage).
  void expungeAll(const std::string& folder);
  // Saves `count` small messages into `folder` through the sink in one batch; returns the UIDs.
  std::vector<uint32_t> saveSimple(const std::string& folder, int count, int firstN = 1,
                                   const std::string& guidPrefix = "g");

  struct test_mail_storage_ctx* ctx_ = nullptr;
  std::unique_ptr<Sink> sink_;

 private:
  std::vector<std::string> extra_;
  std::vector<const char*> extraPtrs_;
};

// The usual fixture: a maildir user with '/' as separator.
class SinkTest : public StorageTest {
 protected:
  void SetUp() override { startUser(); }
};

}  // namespace migrate::dovecot::testing
