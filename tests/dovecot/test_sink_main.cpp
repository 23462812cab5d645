// main() of sink_tests and the shared fixture (test_sink_fixture.h).

#include "test_sink_fixture.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace migrate::dovecot::testing {

TestMessage::TestMessage(const std::string& bytes, const std::string& tempDir) : body(tempDir) {
  Status st = body.reset(bytes.size());
  EXPECT_TRUE(st.isOk()) << st.describe();
  st = body.append(bytes.data(), bytes.size());
  EXPECT_TRUE(st.isOk()) << st.describe();
  msg.body = &body;
}

std::string makeRfc822(int n, size_t bodyBytes) {
  std::string m =
      "From: Alice <alice@example.org>\r\n"
      "To: Bob <bob@example.org>\r\n"
      "Subject: message " +
      std::to_string(n) +
      "\r\n"
      "Date: Fri, 13 Feb 2009 23:31:30 +0000\r\n"
      "Message-ID: <" +
      std::to_string(n) +
      "@test>\r\n"
      "\r\n";
  std::string line = "line of message " + std::to_string(n) + " 0123456789abcdefghijklmnopqrstuvwxyz\r\n";
  while (bodyBytes > 0) {
    size_t take = std::min(bodyBytes, line.size());
    if (take < line.size()) {
      m.append(take >= 2 ? std::string(take - 2, 'x') + "\r\n" : std::string(take, 'x'));
    } else {
      m += line;
    }
    bodyBytes -= take;
  }
  return m;
}

void StorageTest::startUser(const std::string& driver, const std::vector<std::string>& extra,
                            const std::string& driverOpts) {
  ctx_ = test_mail_storage_init();
  // Slow disks make fsync dominate; durability is not what these tests check.
  extra_ = {"mail_fsync=never"};
  extra_.insert(extra_.end(), extra.begin(), extra.end());
  extraPtrs_.clear();
  for (const std::string& e : extra_) {
    extraPtrs_.push_back(e.c_str());
  }
  extraPtrs_.push_back(nullptr);
  struct test_mail_storage_settings set;
  i_zero(&set);
  set.driver = driver.c_str();
#if DOVECOT_PREREQ(2, 4, 0)
  // 2.4 has no driver options: the only one used here is an mbox INBOX file, ":INBOX=~/<path>".
  const std::string inboxOpt = ":INBOX=~/";
  const size_t inboxAt = driverOpts.find(inboxOpt);
  if (inboxAt != std::string::npos) {
    extra_.push_back(std::string("mail_inbox_path=") + ctx_->home_root + "testuser/" +
                     driverOpts.substr(inboxAt + inboxOpt.size()));
  }
  extraPtrs_.clear();
  for (const std::string& e : extra_) {
    extraPtrs_.push_back(e.c_str());
  }
  extraPtrs_.push_back(nullptr);
#else
  set.driver_opts = driverOpts.empty() ? nullptr : driverOpts.c_str();
#endif
  set.hierarchy_sep = "/";
  set.extra_input = extraPtrs_.data();
  test_mail_storage_init_user(ctx_, &set);
  sink_ = makeDovecotSink(ctx_->user);
}

void StorageTest::TearDown() {
  sink_.reset();
  if (ctx_ != nullptr) {
    test_mail_storage_deinit_user(ctx_);
    test_mail_storage_deinit(&ctx_);
  }
}

namespace {

std::string readStream(struct istream* input) {
  std::string out;
  const unsigned char* data = nullptr;
  size_t size = 0;
  while (i_stream_read_more(input, &data, &size) > 0) {
    out.append(reinterpret_cast<const char*>(data), size);
    i_stream_skip(input, size);
  }
  EXPECT_EQ(input->stream_errno, 0) << i_stream_get_error(input);
  return out;
}

uint8_t systemBits(enum mail_flags f) {
  uint8_t s = 0;
  s |= (f & MAIL_SEEN) != 0 ? kFlagSeen : 0;
  s |= (f & MAIL_ANSWERED) != 0 ? kFlagAnswered : 0;
  s |= (f & MAIL_FLAGGED) != 0 ? kFlagFlagged : 0;
  s |= (f & MAIL_DELETED) != 0 ? kFlagDeleted : 0;
  s |= (f & MAIL_DRAFT) != 0 ? kFlagDraft : 0;
  return s;
}

}  // namespace

std::vector<StoredMail> StorageTest::readAll(const std::string& folder) {
  std::vector<StoredMail> out;
  DataStackFrame frame;
  struct mail_namespace* ns = mail_namespace_find(user()->namespaces, folder.c_str());
  MailboxHandle box(mailbox_alloc(ns->list, folder.c_str(), MAILBOX_FLAG_READONLY));
  if (mailbox_open(box.get()) < 0 || mailbox_sync(box.get(), static_cast<enum mailbox_sync_flags>(0)) < 0) {
    ADD_FAILURE() << "cannot open " << folder << ": " << mailbox_get_last_internal_error(box.get(), nullptr);
    return out;
  }
  TransactionHandle t(
      mailbox_transaction_begin(box.get(), static_cast<enum mailbox_transaction_flags>(0), "test"));
  SearchArgsHandle args(mail_search_build_init());
  mail_search_build_add_all(args.get());
  SearchHandle search(
      mailbox_search_init(t.get(), args.get(), nullptr, static_cast<enum mail_fetch_field>(0), nullptr));
  struct mail* mail = nullptr;
  while (mailbox_search_next(search.get(), &mail)) {
    DataStackFrame inner;
    StoredMail m;
    m.uid = mail->uid;
    m.flags = systemBits(mail_get_flags(mail));
    for (const char* const* k = mail_get_keywords(mail); *k != nullptr; k++) {
      m.keywords.emplace_back(*k);
    }
    std::sort(m.keywords.begin(), m.keywords.end());
    time_t received = 0;
    EXPECT_EQ(mail_get_received_date(mail, &received), 0);
    m.received = received;
    const char* guid = nullptr;
    EXPECT_EQ(mail_get_special(mail, MAIL_FETCH_GUID, &guid), 0);
    m.guid = guid != nullptr ? guid : "";
    const char* messageId = nullptr;
    if (mail_get_first_header(mail, "Message-ID", &messageId) > 0) {
      m.messageId = messageId;
    }
    uoff_t vsize = 0;
    EXPECT_EQ(mail_get_virtual_size(mail, &vsize), 0);
    m.virtualSize = vsize;
    const char* uidl = nullptr;
    if (mail_get_special(mail, MAIL_FETCH_UIDL_BACKEND, &uidl) == 0 && uidl != nullptr) {
      m.pop3Uidl = uidl;
    }
    const char* order = nullptr;
    if (mail_get_special(mail, MAIL_FETCH_POP3_ORDER, &order) == 0 && order != nullptr && *order != '\0') {
      m.pop3Order = static_cast<uint32_t>(std::strtoul(order, nullptr, 10));
    }
    struct istream* raw = nullptr;
    EXPECT_EQ(mail_get_stream(mail, nullptr, nullptr, &raw), 0);
    if (raw != nullptr) {
      IStreamHandle crlf(i_stream_create_crlf(raw));
      m.body = readStream(crlf.get());
    }
    out.push_back(std::move(m));
  }
  EXPECT_EQ(mailbox_search_deinit(search.ptr()), 0);
  return out;
}

void StorageTest::expungeAll(const std::string& folder) {
  DataStackFrame frame;
  struct mail_namespace* ns = mail_namespace_find(user()->namespaces, folder.c_str());
  MailboxHandle box(mailbox_alloc(ns->list, folder.c_str(), static_cast<enum mailbox_flags>(0)));
  ASSERT_EQ(mailbox_open(box.get()), 0);
  ASSERT_EQ(mailbox_sync(box.get(), static_cast<enum mailbox_sync_flags>(0)), 0);
  TransactionHandle t(
      mailbox_transaction_begin(box.get(), static_cast<enum mailbox_transaction_flags>(0), "test"));
  SearchArgsHandle args(mail_search_build_init());
  mail_search_build_add_all(args.get());
  SearchHandle search(
      mailbox_search_init(t.get(), args.get(), nullptr, static_cast<enum mail_fetch_field>(0), nullptr));
  struct mail* mail = nullptr;
  while (mailbox_search_next(search.get(), &mail)) {
    mail_expunge(mail);
  }
  ASSERT_EQ(mailbox_search_deinit(search.ptr()), 0);
  ASSERT_EQ(mailbox_transaction_commit(t.ptr()), 0);
  ASSERT_EQ(mailbox_sync(box.get(), static_cast<enum mailbox_sync_flags>(0)), 0);
}

std::vector<uint32_t> StorageTest::saveSimple(const std::string& folder, int count, int firstN,
                                              const std::string& guidPrefix) {
  Status st = sink().beginBatch(folder);
  EXPECT_TRUE(st.isOk()) << st.describe();
  for (int i = 0; i < count; i++) {
    int n = firstN + i;
    TestMessage m(makeRfc822(n));
    m.msg.sourceUid = static_cast<uint32_t>(n);
    m.msg.guid = guidPrefix + std::to_string(n);
    m.msg.internalDate = 1234567890 + n;
    st = sink().save(m.msg);
    EXPECT_TRUE(st.isOk()) << st.describe();
  }
  Result<Sink::CommitResult> r = sink().commitBatch();
  EXPECT_TRUE(r.isOk()) << r.status().describe();
  return r.isOk() ? r.value().uids : std::vector<uint32_t>{};
}

}  // namespace migrate::dovecot::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);  // first: strips the --gtest_* options

  // test_mail_storage_init() wipes and recreates ./.test-home: give every process its own
  // directory so parallel ctest runs do not destroy each other's users.
  char dir[] = "run-XXXXXX";
  if (mkdtemp(dir) == nullptr || chdir(dir) < 0) {
    std::perror("sink_tests: cannot create a work directory here");
    return 2;
  }
  master_service =
      master_service_init("sink-tests",
                          static_cast<enum master_service_flags>(
                              MASTER_SERVICE_FLAG_STANDALONE | MASTER_SERVICE_FLAG_DONT_SEND_STATS |
                              MASTER_SERVICE_FLAG_NO_CONFIG_SETTINGS | MASTER_SERVICE_FLAG_NO_SSL_INIT),
                          &argc, &argv, "");
#if DOVECOT_PREREQ(2, 4, 0)
  // Without a config file, Dovecot 2.4 knows only the settings registered here: the userdb
  // fields the settings tests give are migrate_* settings.
  settings_info_register(&migrate_setting_parser_info);
  settings_info_register(&migrate_preset_def_setting_parser_info);
#endif
  int r = RUN_ALL_TESTS();
  master_service_deinit(&master_service);
  if (chdir("..") == 0) {
    (void)rmdir(dir);
  }
  return r;
}
