#include "dovecot_adapter/dovecot_sink.h"
#include "common/flush_set.h"
#include "common/strings.h"
#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/handles.h"
#include "dovecot_adapter/quota_glue.h"
#include "dovecot_adapter/sieve_storage.h"
#include "dovecot_adapter/state_location.h"
#include "dovecot_adapter/storage_compat.h"
#include "engine/body_digest.h"
#include "engine/pop3_match.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <unordered_set>

namespace migrate::dovecot {

ErrorKind errorKindFromMailError(int mailError) {
  switch (mailError) {
    case MAIL_ERROR_NOQUOTA:
      return ErrorKind::Quota;
    case MAIL_ERROR_NOTFOUND:
      return ErrorKind::NotFound;
    default:
      return ErrorKind::LocalStorage;
  }
}

namespace {

constexpr const char* kTransactionReason = "migrate";
constexpr uint32_t kUidMax = 0xffffffffu;
// Read buffer for file-backed bodies.
constexpr size_t kBodyReadBuffer = 128 * 1024;

std::string folderLabel(const std::string& name) {
  return "folder \"" + name + "\"";
}

// lib-storage's last error for `box`, copied out of its buffers. Internal errors come with their
// real text (the public text is only "Internal error occurred. Refer to server log ...").
Status storageError(struct mailbox* box, const std::string& what) {
  enum mail_error code = MAIL_ERROR_NONE;
  const char* text = mailbox_get_last_internal_error(box, &code);
  ErrorKind kind = errorKindFromMailError(code);
  std::string hint;
  switch (kind) {
    case ErrorKind::Quota:
      hint = "free space in the user's mailbox or raise the user's quota, then run the migration again";
      break;
    case ErrorKind::NotFound:
      break;
    default:
      hint = "see the Dovecot log of this user for details";
      break;
  }
  return Status(kind, what + ": " + (text != nullptr ? text : "unknown error"), std::move(hint));
}

Status listError(struct mailbox_list* list, const std::string& what) {
  enum mail_error code = MAIL_ERROR_NONE;
  const char* text = mailbox_list_get_last_internal_error(list, &code);
  return Status(errorKindFromMailError(code), what + ": " + (text != nullptr ? text : "unknown error"),
                "see the Dovecot log of this user for details");
}

enum mail_flags toMailFlags(uint8_t system) {
  unsigned int f = 0;
  if ((system & kFlagSeen) != 0) {
    f |= MAIL_SEEN;
  }
  if ((system & kFlagAnswered) != 0) {
    f |= MAIL_ANSWERED;
  }
  if ((system & kFlagFlagged) != 0) {
    f |= MAIL_FLAGGED;
  }
  if ((system & kFlagDeleted) != 0) {
    f |= MAIL_DELETED;
  }
  if ((system & kFlagDraft) != 0) {
    f |= MAIL_DRAFT;
  }
  return static_cast<enum mail_flags>(f);
}

uint8_t fromMailFlags(enum mail_flags f) {
  uint8_t s = 0;
  if ((f & MAIL_SEEN) != 0) {
    s |= kFlagSeen;
  }
  if ((f & MAIL_ANSWERED) != 0) {
    s |= kFlagAnswered;
  }
  if ((f & MAIL_FLAGGED) != 0) {
    s |= kFlagFlagged;
  }
  if ((f & MAIL_DELETED) != 0) {
    s |= kFlagDeleted;
  }
  if ((f & MAIL_DRAFT) != 0) {
    s |= kFlagDraft;
  }
  return s;
}

// "\Sent \Archive" (as in namespace { mailbox X { special_use = ... } }) -> SpecialUse bits.
uint8_t parseSpecialUse(const char* s) {
  static const struct {
    const char* name;
    uint8_t bit;
  } kNames[] = {
      {"\\All", kSpecialAll},         {"\\Archive", kSpecialArchive}, {"\\Drafts", kSpecialDrafts},
      {"\\Flagged", kSpecialFlagged}, {"\\Junk", kSpecialJunk},       {"\\Sent", kSpecialSent},
      {"\\Trash", kSpecialTrash},
  };
  uint8_t bits = 0;
  if (s == nullptr) {
    return bits;
  }
  const char* p = s;
  while (*p != '\0') {
    while (*p == ' ' || *p == '\t') {
      p++;
    }
    const char* start = p;
    while (*p != '\0' && *p != ' ' && *p != '\t') {
      p++;
    }
    size_t len = static_cast<size_t>(p - start);
    for (const auto& n : kNames) {
      if (len == std::strlen(n.name) && strncasecmp(start, n.name, len) == 0) {
        bits |= n.bit;
      }
    }
  }
  return bits;
}

// Keywords compare case-insensitively (RFC 3501 flags are case-insensitive).
std::vector<std::string> normalizedKeywords(std::vector<std::string> kws) {
  for (std::string& k : kws) {
    k = lowerAscii(std::move(k));
  }
  std::sort(kws.begin(), kws.end());
  kws.erase(std::unique(kws.begin(), kws.end()), kws.end());
  return kws;
}

// maildir keeps a save GUID in dovecot-uidlist ("G<guid>" in a space-separated line) and even
// uses it as the file name when it carries ",S=<size>" (dsync's case), so it must not contain
// blanks, '/', ':' or ','. The engine's GUIDs are hex; anything else is a bug.
bool guidIsSafe(const std::string& g) {
  if (g.empty() || g.size() > 128 || g[0] == '.') {
    return false;
  }
  return std::all_of(g.begin(), g.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.';
  });
}

// Dovecot (2.3 and 2.4) keeps "date.received" in the mail cache as a 4-byte unsigned field:
// index_mail_cache_dates() stores the low 32 bits, index_mail_get_received_date() zero-extends
// them. The storage itself keeps the exact date (maildir file mtime, dbox metadata, mbox From_
// line), so a date outside 1970-01-01 .. 2106-02-07 06:28:15 UTC must not go into the cache.
bool cacheHoldsDate(int64_t unixTime) {
  return unixTime >= 0 && unixTime <= static_cast<int64_t>(UINT32_MAX);
}

static_assert(offsetof(struct index_mail, mail.mail) == 0, "a struct mail starts its index_mail");

// Keeps the message being saved from caching its received date, as maildir-mail.c keeps the
// sizes of its file name out of the cache: readers then ask the storage. Every lib-storage
// backend's mail is an index_mail (INDEX_MAIL() itself is not valid C++).
void keepReceivedDateUncached(struct mail* destMail) {
  enum mail_fetch_field& fields =
      reinterpret_cast<struct index_mail*>(destMail)->data.dont_cache_fetch_fields;
  fields = static_cast<enum mail_fetch_field>(fields | MAIL_FETCH_RECEIVED_DATE);
}

// A header value as the engine extracts it from the source's BODY[HEADER.FIELDS]: line breaks
// of folded headers removed, surrounding blanks trimmed.
std::string normalizedHeaderValue(const char* value) {
  std::string out;
  for (const char* p = value; p != nullptr && *p != '\0'; p++) {
    if (*p != '\r' && *p != '\n') {
      out += *p;
    }
  }
  size_t b = out.find_first_not_of(" \t");
  if (b == std::string::npos) {
    return {};
  }
  size_t e = out.find_last_not_of(" \t");
  return out.substr(b, e - b + 1);
}

// The content key of `mail` (see DovecotSink::contentKeys()), with its UID and GUID. false on
// error, also when the message was expunged meanwhile (mail->expunged).
bool readContentKey(struct mail* mail, ContentKey& key) {
  const char* messageId = nullptr;
  time_t received = 0;
  uoff_t size = 0;
  if (mail_get_first_header(mail, "Message-ID", &messageId) < 0 ||
      mail_get_received_date(mail, &received) < 0 || mail_get_virtual_size(mail, &size) < 0) {
    return false;
  }
  key.messageId = normalizedHeaderValue(messageId);
  key.internalDate = static_cast<int64_t>(received);
  // The virtual (CRLF) size: what IMAP reports as RFC822.SIZE and what the source sent. The
  // physical size differs where the storage keeps LF line ends (maildir, by default).
  key.size = size;
  key.uid = mail->uid;
  const char* guid = nullptr;
  if (mail_get_special(mail, MAIL_FETCH_GUID, &guid) == 0 && guid != nullptr) {
    key.guid = guid;
  }
  return true;
}

// The GUID of the current message of `mail`, "" when it has none. false on error (not for
// expunged mails: those report found=false through `expunged`).
bool mailGuid(struct mail* mail, std::string& guid) {
  const char* value = nullptr;
  if (mail_get_special(mail, MAIL_FETCH_GUID, &value) < 0) {
    return false;
  }
  guid = value != nullptr ? value : "";
  return true;
}

// Runs `search` (UIDs from minUid) over `box` and calls fn(mail) for each message.
// fn returns a Status; the first failure stops the search.
template <class Fn>
Status forEachMail(struct mailbox* box, const std::string& name, uint32_t minUid,
                   enum mail_fetch_field wanted, const char* const* wantedHeaders, Fn&& fn) {
  TransactionHandle t(
      mailbox_transaction_begin(box, static_cast<enum mailbox_transaction_flags>(0), kTransactionReason));
  SearchArgsHandle args(mail_search_build_init());
  struct mail_search_arg* arg = mail_search_build_add(args.get(), SEARCH_UIDSET);
  p_array_init(&arg->value.seqset, args.get()->pool, 1);
  seq_range_array_add_range(&arg->value.seqset, std::max<uint32_t>(minUid, 1), kUidMax);

  HeaderLookupHandle headers;
  if (wantedHeaders != nullptr) {
    headers.reset(mailbox_header_lookup_init(box, wantedHeaders));
  }
  SearchHandle search(mailbox_search_init(t.get(), args.get(), nullptr, wanted, headers.get()));
  struct mail* mail = nullptr;
  Status st;
  while (st.isOk() && mailbox_search_next(search.get(), &mail)) {
    DataStackFrame frame;
    st = fn(mail);
  }
  if (mailbox_search_deinit(search.ptr()) < 0 && st.isOk()) {
    st = storageError(box, folderLabel(name) + ": searching messages failed");
  }
  // Read-only transaction: nothing to commit; the handle rolls it back.
  return st;
}

// The file a save writes to: the fd under its output stream and any filters (zlib), -1 when
// it writes no local file of its own (imapc, pop3c).
int savedFileFd(struct mail_save_context* save) {
  for (struct ostream* out = save->data.output; out != nullptr; out = out->real_stream->parent) {
    if (out->real_stream->fd >= 0) {
      return out->real_stream->fd;
    }
  }
  return -1;
}

// Files lib-storage rewrites or appends to in a commit besides the messages themselves:
// maildir's dovecot-uidlist (UIDs and save GUIDs) and dovecot-keywords; the index and its
// transaction log (sdbox and mdbox keep UIDs and flags only there); mdbox's map index (next to
// its m.* files). Looked for in the mailbox's, index and control directories and in those of
// the saved files; missing ones are skipped.
constexpr const char* kCommitFiles[] = {"dovecot-uidlist", "dovecot-keywords",      "dovecot.index.log",
                                        "dovecot.index",   "dovecot.map.index.log", "dovecot.map.index"};
// Subdirectories whose entries a commit changes where they exist: maildir moves each message
// from tmp/ into new/ or cur/, and a flag change renames it in cur/.
constexpr const char* kMessageDirs[] = {"cur", "new"};

class DovecotSink final : public Sink {
 public:
  DovecotSink(struct mail_user* user, const SinkOptions& options) : user_(user), options_(options) {}
  ~DovecotSink() override {
    trans_.reset();
    box_.reset();
  }

  char separator() const override {
    struct mail_namespace* ns = mail_namespace_find_inbox(user_->namespaces);
    return ns != nullptr ? mail_namespace_get_sep(ns) : '/';
  }

  std::string unsafeNameChars() const override {
    // Maildir++ keeps "A/B" as ".A.B": without an escape character the storage separator cannot
    // appear inside a folder name.
    struct mail_namespace* ns = mail_namespace_find_inbox(user_->namespaces);
    if (ns == nullptr) {
      return {};
    }
    char storageSep = mailbox_list_get_hierarchy_sep(ns->list);
    if (storageSep != '\0' && storageSep != mail_namespace_get_sep(ns) &&
        storageEscapeChar(ns->list) == '\0') {
      return std::string(1, storageSep);
    }
    return {};
  }

  Result<std::string> stateDir(bool create) override { return stateDirectory(user_, create); }

  std::string tempDir() const override {
    DataStackFrame frame;
    string_t* prefix = t_str_new(256);
    mail_user_set_get_temp_prefix(prefix, user_->set);
    std::string p = str_c(prefix);
    size_t slash = p.rfind('/');
    if (slash == std::string::npos || slash == 0) {
      return "/tmp";
    }
    return p.substr(0, slash);
  }

  Result<std::vector<DestFolder>> listFolders() override;
  Result<DestFolderStatus> prepareFolder(const std::string& name,
                                         const PrepareFolderOptions& options) override;
  Result<DestFolderStatus> folderStatus(const std::string& name) override;
  Status setSubscribed(const std::string& name) override;
  Result<std::unordered_map<std::string, uint32_t>> guidsFrom(const std::string& name,
                                                              uint32_t minUid) override;
  Result<std::vector<ContentKey>> contentKeys(const std::string& name, uint32_t minUid) override;
  Result<std::vector<DestMessage>> listMessages(const std::string& name) override {
    return destMessages(name, 1, true);
  }
  Result<std::unordered_map<uint32_t, std::string>> bodyDigests(const std::string& name,
                                                                const std::vector<uint32_t>& uids) override;
  Status beginBatch(const std::string& name) override;
  Status save(const IncomingMessage& message) override;
  Result<CommitResult> commitBatch() override;
  void rollbackBatch() override;
  Result<uint32_t> addPop3Uidls(const std::string& name, const std::vector<Pop3UidlUpdate>& updates) override;
  Result<uint32_t> updateFlags(const std::string& name, const std::vector<FlagUpdate>& updates,
                               std::vector<uint32_t>* changedUids) override;
  Result<QuotaInfo> quota() override { return readQuota(user_); }
  Result<DestChanges> changesSince(const std::string& name, uint64_t modSeq) override;
  Result<std::vector<DestCopy>> copies(const std::string& name, const std::vector<uint32_t>& uids) override;
  Result<std::vector<uint32_t>> expunge(const std::string& name, const std::vector<DestCopy>& copies,
                                        uint64_t unchangedSince) override;
  Result<uint32_t> move(const MoveRequest& request) override;

  Status sieveAvailable() const override { return dovecot::sieveAvailable(); }
  Result<std::unique_ptr<SieveStorage>> openSieveStorage() override {
    return dovecot::openSieveStorage(user_);
  }

 private:
  std::string userName() const { return user_->username != nullptr ? user_->username : "?"; }

  // Writes `input` through `save` (its metadata set) and finishes it (SaveHandle cancels it on
  // failure). `date`: the INTERNALDATE given to it; `readHint`: what to check when the input
  // cannot be read.
  Status writeMessage(struct mailbox* box, SaveHandle& save, struct istream* input, int64_t date,
                      const std::string& what, const std::string& readHint);
  // Sets flags, keywords and the received date on a new save (a save or a move).
  void setSaveFlags(struct mailbox* box, struct mail_save_context* save, const std::string& folder,
                    const MessageFlags& flags, int64_t date, int tzOffsetMinutes);
  // The mail of `box` with `uid` and `guid` and a modseq not above `unchangedSince` (0: any);
  // false when there is none.
  static bool selectCopy(struct mail* mail, uint32_t uid, const std::string& guid, uint64_t unchangedSince);
  // Saves the mail's bytes into `to` as request.newGuid (MoveRequest); returns its UID.
  Result<uint32_t> saveMovedCopy(struct mail* mail, const MoveRequest& request);
  // Commits `t` (expunges) and lets the storage carry them out.
  Status commitExpunges(struct mailbox* box, TransactionHandle& t, const std::string& name, size_t count);

  // Everything a batch wrote, whole file system: for saves whose files the sink cannot see.
  Status flushFileSystem(struct mailbox* box) {
    const char* path = nullptr;
    if (mailbox_list_get_path(mailbox_get_namespace(box)->list, mailbox_get_name(box),
                              MAILBOX_LIST_PATH_TYPE_MAILBOX, &path) <= 0 ||
        path == nullptr) {
      return Status::ok();  // no file system path (e.g. a virtual storage): nothing to flush
    }
    std::string p = path;
    // A directory, or a file for mbox; syncfs() takes either.
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Status(ErrorKind::LocalStorage, "cannot open " + p + " to flush it: " + std::strerror(errno));
    }
    int r = ::syncfs(fd);
    int err = errno;
    ::close(fd);
    if (r < 0) {
      return Status(ErrorKind::LocalStorage,
                    "cannot flush the file system of " + p + ": " + std::strerror(err),
                    "check the disk and the kernel log");
    }
    return Status::ok();
  }

  // Before saving into `box`: a save whose file the sink cannot hold (attachments stored apart
  // with mail_attachment_dir, a storage without files) makes the commit flush the file system.
  void holdSavedFile(struct mail_save_context* save) {
    if (!attachmentDir(mailbox_get_storage(save->transaction->box)).empty() ||
        !flush_.holdFile(savedFileFd(save))) {
      flushWholeFileSystem_ = true;
    }
  }

  // The directories of `box` and of the files `set` holds, and the commit files in them (see
  // kCommitFiles), for `set`.
  void addMailboxPaths(FlushSet& set, struct mailbox* box) {
    std::set<std::string> dirs = set.dirsOfHeldFiles();
    for (enum mailbox_list_path_type type :
         {MAILBOX_LIST_PATH_TYPE_MAILBOX, MAILBOX_LIST_PATH_TYPE_CONTROL, MAILBOX_LIST_PATH_TYPE_INDEX}) {
      const char* path = nullptr;
      if (mailbox_get_path_to(box, type, &path) > 0 && path != nullptr) {
        dirs.insert(path);
      }
    }
    for (const std::string& dir : dirs) {
      set.addDir(dir);
      for (const char* sub : kMessageDirs) {
        set.addDir(dir + "/" + sub);
      }
      for (const char* name : kCommitFiles) {
        set.addFile(dir + "/" + name);
      }
    }
    if (createdFolders_.erase(mailbox_get_vname(box)) != 0) {
      addParentDirs(set, box);
    }
  }

  // A folder created in this run: the directories above it, up to the namespace's root, whose
  // new entries lead to it.
  void addParentDirs(FlushSet& set, struct mailbox* box) {
    const char* root =
        mailbox_list_get_root_forced(mailbox_get_namespace(box)->list, MAILBOX_LIST_PATH_TYPE_MAILBOX);
    const char* path = nullptr;
    if (mailbox_get_path_to(box, MAILBOX_LIST_PATH_TYPE_MAILBOX, &path) <= 0 || path == nullptr) {
      return;
    }
    std::string dir = path;
    const std::string top = root;
    while (dir.size() > top.size() && dir.compare(0, top.size(), top) == 0) {
      dir.erase(dir.rfind('/'));
      set.addDir(dir.empty() ? "/" : dir);
    }
  }

  // After a commit that saved mail: what it wrote becomes durable (SinkOptions), file by file.
  Status flushCommitted(struct mailbox* box) {
    if (flushWholeFileSystem_) {
      return flushFileSystem(box);
    }
    // The held files again: mdbox appends to its m.* files until the commit.
    addMailboxPaths(flush_, box);
    return flush_.flush();
  }

  // After flags changed: maildir renamed files in cur/, dbox wrote its index.
  Status flushFlagChanges(struct mailbox* box) {
    FlushSet set;
    addMailboxPaths(set, box);
    return set.flush();
  }

  void resetFlush() {
    flush_.clear();
    flushWholeFileSystem_ = false;
  }

  // Allocates `name` (a vname) in its namespace; not opened.
  Result<MailboxHandle> allocMailbox(const std::string& name, enum mailbox_flags flags) {
    if (name.empty()) {
      return Status(ErrorKind::Internal, "empty destination folder name");
    }
    struct mail_namespace* ns = mail_namespace_find(user_->namespaces, name.c_str());
    if (ns == nullptr) {
      return Status(ErrorKind::NotFound, folderLabel(name) + ": no namespace matches this name",
                    "check the namespace prefixes in dovecot.conf");
    }
    return MailboxHandle(mailbox_alloc(ns->list, name.c_str(), flags));
  }

  // Allocates and opens `name`; NotFound if it does not exist. With `sync`, the index is brought
  // up to date with the storage first (mail delivered since the last access becomes visible).
  Result<MailboxHandle> openMailbox(const std::string& name, enum mailbox_flags flags, bool sync) {
    Result<MailboxHandle> r = allocMailbox(name, flags);
    if (!r.isOk()) {
      return r;
    }
    MailboxHandle box = std::move(r).value();
    if (mailbox_open(box.get()) < 0) {
      Status st = storageError(box.get(), folderLabel(name) + ": cannot open");
      if (st.kind() == ErrorKind::NotFound) {
        return Status(ErrorKind::NotFound, folderLabel(name) + " does not exist");
      }
      return st;
    }
    if (sync && mailbox_sync(box.get(), static_cast<enum mailbox_sync_flags>(0)) < 0) {
      return storageError(box.get(), folderLabel(name) + ": cannot synchronize");
    }
    return box;
  }

  // The messages of `name` from minUid on (read-only): content keys, and flags when asked.
  Result<std::vector<DestMessage>> destMessages(const std::string& name, uint32_t minUid, bool withFlags);

  Result<DestFolderStatus> statusOf(struct mailbox* box, const std::string& name, bool created) {
    struct mailbox_status st;
    if (mailbox_get_status(
            box,
            static_cast<enum mailbox_status_items>(STATUS_MESSAGES | STATUS_UIDVALIDITY | STATUS_UIDNEXT),
            &st) < 0) {
      return storageError(box, folderLabel(name) + ": cannot read its status");
    }
    DestFolderStatus out;
    out.created = created;
    out.uidValidity = st.uidvalidity;
    out.uidNext = st.uidnext;
    out.messages = st.messages;
    out.haveSaveGuids = st.have_save_guids;
    struct mailbox_metadata md;
    // Not every storage has mailbox GUIDs (imapc): leave it empty there.
    if (mailbox_get_metadata(box, MAILBOX_METADATA_GUID, &md) == 0 && !guid_128_is_empty(md.guid)) {
      out.mailboxGuid = guid_128_to_string(md.guid);
    }
    return out;
  }

  // Keywords of `wanted` that lib-storage accepts for `box`. Filtered one by one because
  // mailbox_keywords_create_valid() drops *all* keywords when one is invalid (2.3.19 bug).
  std::vector<std::string> validKeywords(struct mailbox* box, const std::string& folder,
                                         const std::vector<std::string>& wanted) {
    std::vector<std::string> out;
    out.reserve(wanted.size());
    for (const std::string& k : wanted) {
      const char* error = nullptr;
      if (!k.empty() && mailbox_keyword_is_valid(box, k.c_str(), &error)) {
        out.push_back(k);
      } else if (reportedKeywords_.insert(k).second) {
        i_warning("migrate: user %s, %s: keyword '%s' cannot be stored and was dropped: %s",
                  userName().c_str(), folderLabel(folder).c_str(), k.c_str(),
                  error != nullptr ? error : "empty keyword");
      }
    }
    return out;
  }

  // NULL-terminated array of the strings' c_str() (valid while `v` lives).
  static std::vector<const char*> cArray(const std::vector<std::string>& v) {
    std::vector<const char*> out;
    out.reserve(v.size() + 1);
    for (const std::string& s : v) {
      out.push_back(s.c_str());
    }
    out.push_back(nullptr);
    return out;
  }

  void closeCachedMailbox() {
    trans_.reset();
    box_.reset();
    boxName_.clear();
  }

  Result<std::unordered_map<std::string, uint32_t>> guidMap(struct mailbox* box, const std::string& name,
                                                            uint32_t minUid) {
    std::unordered_map<std::string, uint32_t> map;
    std::string guid;
    Status st = forEachMail(box, name, minUid, MAIL_FETCH_GUID, nullptr, [&](struct mail* mail) -> Status {
      if (!mailGuid(mail, guid)) {
        if (mail->expunged) {
          return Status::ok();
        }
        return storageError(mail->box,
                            folderLabel(name) + ": cannot read the GUID of UID " + std::to_string(mail->uid));
      }
      if (!guid.empty()) {
        map.emplace(guid, mail->uid);  // duplicates: the lowest UID wins
      }
      return Status::ok();
    });
    if (!st.isOk()) {
      return st;
    }
    return map;
  }

  // The old server's POP3 UIDL and order (checked: lib-storage asserts on bad values; RFC 1939
  // allows 1-70 characters in 0x21-0x7E).
  // The folder's GUIDs, read once when a UID hint misses.
  struct GuidLookup {
    bool read = false;
    std::unordered_map<std::string, uint32_t> byGuid;
  };
  // Puts `mail` on this tool's message `guid` of `name`, trying `uidHint` first. False: it is
  // not there (expunged or moved at the destination).
  Result<bool> seekGuid(struct mail* mail, const std::string& name, const std::string& guid, uint32_t uidHint,
                        GuidLookup& lookup) {
    std::string found;
    if (uidHint != 0 && mail_set_uid(mail, uidHint)) {
      if (!mailGuid(mail, found) && !mail->expunged) {
        return storageError(mail->box,
                            folderLabel(name) + ": cannot read the GUID of UID " + std::to_string(uidHint));
      }
      if (!mail->expunged && found == guid) {
        return true;
      }
    }
    if (guid.empty()) {
      return false;
    }
    if (!lookup.read) {
      MIGRATE_ASSIGN_OR_RETURN(lookup.byGuid, guidMap(mail->box, name, 1));
      lookup.read = true;
    }
    auto it = lookup.byGuid.find(guid);
    return it != lookup.byGuid.end() && mail_set_uid(mail, it->second);
  }

  void setPop3Fields(struct mail_save_context* save, const IncomingMessage& message) {
    if (!usableUidl(message.pop3Uidl)) {
      return;
    }
    mailbox_save_set_pop3_uidl(save, message.pop3Uidl.c_str());
    if (message.pop3Order != 0) {
      mailbox_save_set_pop3_order(save, message.pop3Order);
    }
    batchPop3_ = true;
  }

  // sdbox keeps a saved UIDL in the message file but announces it in the index header
  // (max_uid_with_pop3_uidl) only for saves into an empty mailbox (sdbox-save.c compares a
  // mailbox sequence with a file index): without this, POP3 answers the UIDL of pop3_uidl_format
  // for messages of later batches (docs/dev/pop3-uidl-research.md, 6.A). A value above the
  // highest UID with a UIDL only costs metadata reads, so it is set to the highest UID.
  Status announcePop3Uidls(struct mailbox* box, uint32_t highestUid) {
    if (std::strcmp(mailbox_get_storage(box)->name, "sdbox") != 0) {
      return Status::ok();
    }
    TransactionHandle t(
        mailbox_transaction_begin(box, static_cast<enum mailbox_transaction_flags>(0), kTransactionReason));
    index_pop3_uidl_set_max_uid(box, t.get()->itrans, highestUid);
    if (mailbox_transaction_commit(t.ptr()) < 0) {
      return storageError(box, folderLabel(boxName_) + ": recording the POP3 UIDLs failed");
    }
    return Status::ok();
  }

  struct mail_user* user_;
  SinkOptions options_;
  std::set<std::string> reportedKeywords_;

  // The batch: the mailbox stays open between batches of the same folder.
  std::string boxName_;
  MailboxHandle box_;
  bool haveSaveGuids_ = false;
  TransactionHandle trans_;
  uint32_t batchSaved_ = 0;
  bool batchPop3_ = false;  // a message of the open batch has a POP3 UIDL
  // What the open batch wrote, flushed by its commit (SinkOptions::syncAfterCommit).
  FlushSet flush_;
  bool flushWholeFileSystem_ = false;
  std::set<std::string> createdFolders_;  // by this sink, no mail committed into them yet
};

Result<std::vector<DestFolder>> DovecotSink::listFolders() {
  DataStackFrame frame;
  std::vector<DestFolder> out;
  std::unordered_set<std::string> seen;
  const char* const patterns[] = {"*", nullptr};
  ListIterHandle iter(mailbox_list_iter_init_namespaces(
      user_->namespaces, patterns, MAIL_NAMESPACE_TYPE_PRIVATE,
      static_cast<enum mailbox_list_iter_flags>(MAILBOX_LIST_ITER_RETURN_SPECIALUSE |
                                                MAILBOX_LIST_ITER_RETURN_SUBSCRIBED |
                                                MAILBOX_LIST_ITER_SKIP_ALIASES)));
  while (const struct mailbox_info* info = mailbox_list_iter_next(iter.get())) {
    DestFolder f;
    f.name = info->vname;
    f.specialUse = parseSpecialUse(info->special_use);
    f.subscribed = (info->flags & MAILBOX_SUBSCRIBED) != 0;
    f.selectable = (info->flags & (MAILBOX_NOSELECT | MAILBOX_NONEXISTENT)) == 0;
    if (seen.insert(f.name).second) {
      out.push_back(std::move(f));
    }
  }
  if (mailbox_list_iter_deinit(iter.ptr()) < 0) {
    return listError(user_->namespaces->list, "listing the folders of user " + userName() + " failed");
  }

  // Special-use folders declared in the namespace config but not created yet (auto = no) are not
  // listed by lib-storage. They are valid targets all the same (prepareFolder creates them), and
  // since 2.3 cannot set special-use any other way, the engine needs to see them.
  for (struct mail_namespace* ns = user_->namespaces; ns != nullptr; ns = ns->next) {
    if (ns->type != MAIL_NAMESPACE_TYPE_PRIVATE || ns->alias_for != nullptr) {
      continue;
    }
    for (const ConfiguredMailbox& box : configuredMailboxes(ns)) {
      if (box.name.empty() || box.specialUse.empty()) {
        continue;
      }
      std::string vname = std::string(ns->prefix) + box.name;
      if (strcasecmp(vname.c_str(), "INBOX") == 0) {
        vname = "INBOX";
      }
      auto it = std::find_if(out.begin(), out.end(), [&](const DestFolder& f) { return f.name == vname; });
      if (it != out.end()) {
        // Listed (e.g. as \NonExistent parent): it is still where this special-use goes.
        it->specialUse |= parseSpecialUse(box.specialUse.c_str());
        it->selectable = true;
        continue;
      }
      DestFolder f;
      f.name = vname;
      f.specialUse = parseSpecialUse(box.specialUse.c_str());
      f.subscribed = box.autoSubscribe;
      f.selectable = true;
      out.push_back(std::move(f));
    }
  }
  return out;
}

Result<DestFolderStatus> DovecotSink::prepareFolder(const std::string& name,
                                                    const PrepareFolderOptions& options) {
  DataStackFrame frame;
  if (name == boxName_ && !trans_) {
    // Its uidvalidity may change below; reopen it for the next batch.
    closeCachedMailbox();
  }
  MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r, allocMailbox(name, static_cast<enum mailbox_flags>(0)));
  MailboxHandle box = std::move(r);
  bool created = false;
  if (mailbox_open(box.get()) < 0) {
    Status st = storageError(box.get(), folderLabel(name) + ": cannot open");
    if (st.kind() != ErrorKind::NotFound) {
      return st;
    }
    if (!options.create) {
      return Status(ErrorKind::NotFound, folderLabel(name) + " does not exist");
    }
    struct mailbox_update update;
    i_zero(&update);
    update.uid_validity = options.uidValidity;
    if (mailbox_create(box.get(), options.uidValidity != 0 ? &update : nullptr, FALSE) < 0) {
      enum mail_error code = MAIL_ERROR_NONE;
      (void)mailbox_get_last_error(box.get(), &code);
      // EXISTS: another process created it in the meantime; use it as an existing folder.
      if (code != MAIL_ERROR_EXISTS) {
        return storageError(box.get(), folderLabel(name) + ": cannot create");
      }
    } else {
      created = true;
      createdFolders_.insert(mailbox_get_vname(box.get()));
    }
    if (mailbox_open(box.get()) < 0) {
      return storageError(box.get(), folderLabel(name) + ": cannot open after creating it");
    }
  }
  if (mailbox_sync(box.get(), static_cast<enum mailbox_sync_flags>(0)) < 0) {
    return storageError(box.get(), folderLabel(name) + ": cannot synchronize");
  }
  Result<DestFolderStatus> status = statusOf(box.get(), name, created);
  if (!status.isOk()) {
    return status;
  }
  const DestFolderStatus& s = status.value();
  if (options.uidValidity != 0 && s.uidValidity != options.uidValidity && s.messages == 0 && s.uidNext == 1) {
    // Empty and never held mail: no client can have cached UIDs of it, so adopting the source's
    // UIDVALIDITY is safe and lets the source UIDs be kept.
    struct mailbox_update update;
    i_zero(&update);
    update.uid_validity = options.uidValidity;
    if (mailbox_update(box.get(), &update) < 0) {
      return storageError(
          box.get(), folderLabel(name) + ": cannot set UIDVALIDITY " + std::to_string(options.uidValidity));
    }
    if (mailbox_sync(box.get(), static_cast<enum mailbox_sync_flags>(0)) < 0) {
      return storageError(box.get(), folderLabel(name) + ": cannot synchronize");
    }
    status = statusOf(box.get(), name, created);
    if (!status.isOk()) {
      return status;
    }
  }
  // mailbox_set_subscribed() refreshes the subscriptions and writes only when they change.
  if (options.subscribe && mailbox_set_subscribed(box.get(), TRUE) < 0) {
    return storageError(box.get(), folderLabel(name) + ": cannot subscribe");
  }
  return status;
}

Result<DestFolderStatus> DovecotSink::folderStatus(const std::string& name) {
  DataStackFrame frame;
  MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r, openMailbox(name, static_cast<enum mailbox_flags>(0), true));
  return statusOf(r.get(), name, false);
}

Status DovecotSink::setSubscribed(const std::string& name) {
  DataStackFrame frame;
  MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r, allocMailbox(name, static_cast<enum mailbox_flags>(0)));
  struct mailbox* box = r.get();
  if (mailbox_set_subscribed(box, TRUE) < 0) {
    return storageError(box, folderLabel(name) + ": cannot subscribe");
  }
  return Status::ok();
}

Result<std::unordered_map<std::string, uint32_t>> DovecotSink::guidsFrom(const std::string& name,
                                                                         uint32_t minUid) {
  DataStackFrame frame;
  MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r, openMailbox(name, MAILBOX_FLAG_READONLY, true));
  return guidMap(r.get(), name, minUid);
}

Result<std::vector<ContentKey>> DovecotSink::contentKeys(const std::string& name, uint32_t minUid) {
  MIGRATE_ASSIGN_OR_RETURN(std::vector<DestMessage> messages, destMessages(name, minUid, false));
  std::vector<ContentKey> keys;
  keys.reserve(messages.size());
  for (DestMessage& m : messages) {
    keys.push_back(std::move(m.key));
  }
  return keys;
}

Result<std::vector<DestMessage>> DovecotSink::destMessages(const std::string& name, uint32_t minUid,
                                                           bool withFlags) {
  DataStackFrame frame;
  MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r, openMailbox(name, MAILBOX_FLAG_READONLY, true));
  struct mailbox* box = r.get();
  std::vector<DestMessage> out;
  const char* const headers[] = {"Message-ID", nullptr};
  unsigned int wanted = MAIL_FETCH_RECEIVED_DATE | MAIL_FETCH_VIRTUAL_SIZE | MAIL_FETCH_GUID;
  if (withFlags) {
    wanted |= MAIL_FETCH_FLAGS;
  }
  Status st = forEachMail(box, name, minUid, static_cast<enum mail_fetch_field>(wanted), headers,
                          [&](struct mail* mail) -> Status {
                            DestMessage m;
                            if (!readContentKey(mail, m.key)) {
                              if (mail->expunged) {
                                return Status::ok();
                              }
                              return storageError(
                                  box, folderLabel(name) + ": cannot read UID " + std::to_string(mail->uid));
                            }
                            if (withFlags) {
                              m.flags.system = fromMailFlags(mail_get_flags(mail));
                              if (const char* const* kws = mail_get_keywords(mail)) {
                                for (; *kws != nullptr; kws++) {
                                  m.flags.keywords.emplace_back(*kws);
                                }
                              }
                              std::sort(m.flags.keywords.begin(), m.flags.keywords.end());
                            }
                            out.push_back(std::move(m));
                            return Status::ok();
                          });
  if (!st.isOk()) {
    return st;
  }
  return out;
}

Result<std::unordered_map<uint32_t, std::string>> DovecotSink::bodyDigests(
    const std::string& name, const std::vector<uint32_t>& uids) {
  DataStackFrame frame;
  MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r, openMailbox(name, MAILBOX_FLAG_READONLY, false));
  struct mailbox* box = r.get();
  TransactionHandle t(
      mailbox_transaction_begin(box, static_cast<enum mailbox_transaction_flags>(0), kTransactionReason));
  MailHandle mail(mail_alloc(
      t.get(), static_cast<enum mail_fetch_field>(MAIL_FETCH_STREAM_HEADER | MAIL_FETCH_STREAM_BODY),
      nullptr));
  std::unordered_map<uint32_t, std::string> out;
  BodyDigest digest;
  for (uint32_t uid : uids) {
    DataStackFrame inner;
    struct istream* input = nullptr;
    if (!mail_set_uid(mail.get(), uid)) {
      continue;  // expunged meanwhile
    }
    if (mail_get_stream(mail.get(), nullptr, nullptr, &input) < 0) {
      if (mail.get()->expunged) {
        continue;
      }
      return storageError(box, folderLabel(name) + ": cannot read UID " + std::to_string(uid));
    }
    const unsigned char* data = nullptr;
    size_t size = 0;
    while (i_stream_read_more(input, &data, &size) > 0) {
      digest.update(reinterpret_cast<const char*>(data), size);
      i_stream_skip(input, size);
    }
    if (input->stream_errno != 0) {
      return Status(
          ErrorKind::LocalStorage,
          folderLabel(name) + ": cannot read UID " + std::to_string(uid) + ": " + i_stream_get_error(input),
          "see the Dovecot log of this user for details");
    }
    out[uid] = digest.finish();
  }
  return out;
}

Status DovecotSink::beginBatch(const std::string& name) {
  if (trans_) {
    return Status(ErrorKind::Internal,
                  "beginBatch(" + name + "): the batch of " + folderLabel(boxName_) + " is still open");
  }
  DataStackFrame frame;
  if (!box_ || boxName_ != name) {
    closeCachedMailbox();
    // SAVEONLY, as doveadm save and LDA: no full sync before appending.
    MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r, openMailbox(name, MAILBOX_FLAG_SAVEONLY, false));
    box_ = std::move(r);
    boxName_ = name;
    struct mailbox_status st;
    mailbox_get_open_status(box_.get(), static_cast<enum mailbox_status_items>(0), &st);
    haveSaveGuids_ = st.have_save_guids;
  }
  trans_.reset(mailbox_transaction_begin(
      box_.get(),
      static_cast<enum mailbox_transaction_flags>(MAILBOX_TRANSACTION_FLAG_EXTERNAL |
                                                  MAILBOX_TRANSACTION_FLAG_ASSIGN_UIDS),
      kTransactionReason));
  batchSaved_ = 0;
  resetFlush();
  return Status::ok();
}

Status DovecotSink::save(const IncomingMessage& message) {
  if (!trans_) {
    return Status(ErrorKind::Internal, "save() outside a batch");
  }
  if (message.body == nullptr) {
    return Status(ErrorKind::Internal, "save() without a message body");
  }
  const MessageBody& body = *message.body;
  const std::string what = folderLabel(boxName_) + ": saving the message with source UID " +
                           std::to_string(message.sourceUid) + " failed";
  bool setGuid = haveSaveGuids_ && !message.guid.empty();
  if (setGuid && !guidIsSafe(message.guid)) {
    return Status(ErrorKind::Internal, what + ": invalid GUID '" + message.guid + "'");
  }
  if (!body.inMemory() && body.fd() < 0) {
    return Status(ErrorKind::Internal, what + ": no body");
  }

  DataStackFrame frame;
  struct mailbox* box = box_.get();
  SaveHandle save(mailbox_save_alloc(trans_.get()));

  setSaveFlags(box, save.get(), boxName_, message.flags, message.internalDate, message.tzOffsetMinutes);
  if (setGuid) {
    mailbox_save_set_guid(save.get(), message.guid.c_str());
  }
  if (message.wantUid != 0 && message.wantUid != kUidMax) {
    // Honoured when >= the folder's UIDNEXT at commit; otherwise a new UID is assigned.
    mailbox_save_set_uid(save.get(), message.wantUid);
  }
  setPop3Fields(save.get(), message);

  // The size must be known up front (a stream of unknown size panics in lib-storage, and the
  // quota plugin checks the size at save_begin). Both streams read the body's bytes in place:
  // the in-memory data outlives mailbox_save_finish(); the fd stays owned by MessageBody (no
  // autoclose) and is read with pread() from offset 0. The sized wrapper turns a spool file of
  // the wrong length into a read error instead of a silently truncated message.
  IStreamHandle input;
  if (body.inMemory()) {
    input.reset(i_stream_create_from_data(body.data().data(), body.data().size()));
  } else {
    IStreamHandle file(i_stream_create_fd(body.fd(), kBodyReadBuffer));
    input.reset(i_stream_create_sized(file.get(), body.size()));
  }
  i_stream_set_name(input.get(), "migrate message body");

  MIGRATE_RETURN_IF_ERROR(writeMessage(box, save, input.get(), message.internalDate, what,
                                       "check the temp directory " + tempDir()));
  batchSaved_++;
  return Status::ok();
}

Status DovecotSink::writeMessage(struct mailbox* box, SaveHandle& save, struct istream* input, int64_t date,
                                 const std::string& what, const std::string& readHint) {
  if (mailbox_save_begin(save.ptr(), input) < 0) {
    // The save context is freed already; the transaction stays usable.
    return storageError(box, what);
  }
  if (!cacheHoldsDate(date)) {
    // After save_begin: mail_set_seq_saving() resets the mail's fields; the date is cached (or
    // not) in save_finish().
    keepReceivedDateUncached(save.get()->dest_mail);
  }
  bool failed = false;
  do {
    if (mailbox_save_continue(save.get()) < 0) {
      failed = true;
      break;
    }
  } while (i_stream_read(input) > 0);
  if (input->stream_errno != 0) {
    Status st(ErrorKind::LocalStorage, what + ": reading the message body: " + i_stream_get_error(input),
              readHint);
    save.reset();  // cancel
    return st;
  }
  if (failed) {
    Status st = storageError(box, what);
    save.reset();  // cancel
    return st;
  }
  if (options_.syncAfterCommit) {
    holdSavedFile(save.get());  // before finishing: maildir closes its file then
  }
  if (mailbox_save_finish(save.ptr()) < 0) {
    return storageError(box, what);
  }
  flush_.startWriteback();
  return Status::ok();
}

Result<Sink::CommitResult> DovecotSink::commitBatch() {
  if (!trans_) {
    return Status(ErrorKind::Internal, "commitBatch() without beginBatch()");
  }
  DataStackFrame frame;
  struct mailbox* box = box_.get();
  // The messages' data is durable before the commit links them in (the order of Dovecot's own
  // mail_fsync): a crash cannot leave an empty file where the storage lists a message.
  const bool flush = options_.syncAfterCommit && batchSaved_ > 0;
  Status synced = flush ? flush_.syncFiles() : Status::ok();
  if (!synced.isOk()) {
    rollbackBatch();
    return synced.withPrefix(folderLabel(boxName_));
  }
  struct mail_transaction_commit_changes changes;
  // Frees the transaction whatever the outcome; ptr() lets the handle see that.
  if (mailbox_transaction_commit_get_changes(trans_.ptr(), &changes) < 0) {
    Status st = storageError(
        box, folderLabel(boxName_) + ": committing " + std::to_string(batchSaved_) + " messages failed");
    batchSaved_ = 0;
    return st;
  }
  struct ChangesPool {
    pool_t& pool;
    ~ChangesPool() { pool_unref(&pool); }
  } poolGuard{changes.pool};

  CommitResult result;
  result.uidValidity = changes.uid_validity;
  result.uids.reserve(batchSaved_);
  const struct seq_range* range;
  // In save order (not necessarily ascending when some wanted UIDs could not be kept).
  array_foreach(&changes.saved_uids, range) {
    for (uint64_t uid = range->seq1; uid <= range->seq2; uid++) {
      result.uids.push_back(static_cast<uint32_t>(uid));
    }
  }
  batchSaved_ = 0;
  if (flush && !result.uids.empty()) {
    Status fs = flushCommitted(box);
    if (!fs.isOk()) {
      resetFlush();
      return fs.withPrefix(folderLabel(boxName_));
    }
  }
  resetFlush();
  // The cached mailbox's view still shows the index as it was when it was opened (the commit
  // does not sync it, and syncing a maildir would rescan cur/). A second instance opened now
  // reads the index header the commit just wrote.
  MIGRATE_ASSIGN_OR_RETURN(MailboxHandle fresh, allocMailbox(boxName_, static_cast<enum mailbox_flags>(0)));
  struct mailbox_status st;
  if (mailbox_get_status(fresh.get(), STATUS_UIDNEXT, &st) < 0) {
    return storageError(fresh.get(), folderLabel(boxName_) + ": cannot read UIDNEXT after the commit");
  }
  result.uidNext = st.uidnext;
  for (uint32_t uid : result.uids) {
    // Never report a UIDNEXT at or below a UID we just saved.
    if (uid != kUidMax && uid + 1 > result.uidNext) {
      result.uidNext = uid + 1;
    }
  }
  if (batchPop3_ && !result.uids.empty()) {
    batchPop3_ = false;
    MIGRATE_RETURN_IF_ERROR(announcePop3Uidls(fresh.get(), result.uidNext - 1));
  }
  return result;
}

void DovecotSink::rollbackBatch() {
  trans_.reset();
  batchSaved_ = 0;
  batchPop3_ = false;
  resetFlush();
}

Result<uint32_t> DovecotSink::updateFlags(const std::string& name, const std::vector<FlagUpdate>& updates,
                                          std::vector<uint32_t>* changedUids) {
  if (updates.empty()) {
    return 0u;
  }
  DataStackFrame frame;
  MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r, openMailbox(name, static_cast<enum mailbox_flags>(0), true));
  struct mailbox* box = r.get();
  GuidLookup lookup;

  TransactionHandle t(
      mailbox_transaction_begin(box, static_cast<enum mailbox_transaction_flags>(0), kTransactionReason));
  MailHandle mail(mail_alloc(t.get(), MAIL_FETCH_FLAGS, nullptr));
  uint32_t changed = 0;
  for (const FlagUpdate& u : updates) {
    DataStackFrame inner;
    MIGRATE_ASSIGN_OR_RETURN(bool found, seekGuid(mail.get(), name, u.guid, u.uidHint, lookup));
    if (!found) {
      continue;  // deleted at the destination meanwhile
    }
    enum mail_flags current = static_cast<enum mail_flags>(mail_get_flags(mail.get()) & MAIL_FLAGS_NONRECENT);
    enum mail_flags wanted = toMailFlags(u.flags.system);
    std::vector<std::string> wantedKeywords = validKeywords(box, name, u.flags.keywords);
    std::vector<std::string> currentKeywords;
    if (const char* const* kws = mail_get_keywords(mail.get())) {
      for (; *kws != nullptr; kws++) {
        currentKeywords.emplace_back(*kws);
      }
    }
    bool flagsDiffer = fromMailFlags(current) != fromMailFlags(wanted);
    bool keywordsDiffer = normalizedKeywords(currentKeywords) != normalizedKeywords(wantedKeywords);
    if (flagsDiffer) {
      mail_update_flags(mail.get(), MODIFY_REPLACE, wanted);
    }
    if (keywordsDiffer) {
      std::vector<const char*> arr = cArray(wantedKeywords);
      KeywordsHandle kw(mailbox_keywords_create_valid(box, arr.data()));
      mail_update_keywords(mail.get(), MODIFY_REPLACE, kw.get());
    }
    if (flagsDiffer || keywordsDiffer) {
      changed++;
      if (changedUids != nullptr) {
        changedUids->push_back(mail.get()->uid);
      }
    }
  }
  mail.reset();
  if (mailbox_transaction_commit(t.ptr()) < 0) {
    return storageError(box, folderLabel(name) + ": storing flag changes failed");
  }
  if (changed > 0 && options_.syncAfterCommit) {
    Status st = flushFlagChanges(box);
    if (!st.isOk()) {
      return st.withPrefix(folderLabel(name));
    }
  }
  return changed;
}

// Only maildir can change a saved message's UIDL (mail_update_pop3_uidl; docs/dev/
// pop3-uidl-research.md, 2). It is not transactional: the uidlist is rewritten when the mailbox
// is closed, which the handle does on return.
Result<uint32_t> DovecotSink::addPop3Uidls(const std::string& name,
                                           const std::vector<Pop3UidlUpdate>& updates) {
  if (updates.empty()) {
    return 0u;
  }
  DataStackFrame frame;
  closeCachedMailbox();
  MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r, openMailbox(name, static_cast<enum mailbox_flags>(0), true));
  struct mailbox* box = r.get();
  if (std::strcmp(mailbox_get_storage(box)->name, "maildir") != 0) {
    return 0u;
  }
  GuidLookup lookup;
  TransactionHandle t(
      mailbox_transaction_begin(box, static_cast<enum mailbox_transaction_flags>(0), kTransactionReason));
  MailHandle mail(mail_alloc(t.get(), static_cast<enum mail_fetch_field>(0), nullptr));
  uint32_t added = 0;
  for (const Pop3UidlUpdate& u : updates) {
    DataStackFrame inner;
    MIGRATE_ASSIGN_OR_RETURN(bool found, seekGuid(mail.get(), name, u.guid, u.uidHint, lookup));
    const char* current = nullptr;
    if (!found || !usableUidl(u.uidl) ||
        mail_get_special(mail.get(), MAIL_FETCH_UIDL_BACKEND, &current) < 0 ||
        (current != nullptr && *current != '\0')) {
      continue;
    }
    mail_update_pop3_uidl(mail.get(), u.uidl.c_str());
    added++;
  }
  mail.reset();
  if (mailbox_transaction_commit(t.ptr()) < 0) {
    return storageError(box, folderLabel(name) + ": storing POP3 UIDLs failed");
  }
  return added;
}

void DovecotSink::setSaveFlags(struct mailbox* box, struct mail_save_context* save, const std::string& folder,
                               const MessageFlags& flags, int64_t date, int tzOffsetMinutes) {
  std::vector<std::string> keywords = validKeywords(box, folder, flags.keywords);
  KeywordsHandle kw;
  if (!keywords.empty()) {
    std::vector<const char*> arr = cArray(keywords);
    kw.reset(mailbox_keywords_create_valid(box, arr.data()));
  }
  // The save context takes its own reference to the keywords.
  mailbox_save_set_flags(save, toMailFlags(flags.system), kw.get());
  mailbox_save_set_received_date(save, static_cast<time_t>(date), tzOffsetMinutes);
}

Result<DestChanges> DovecotSink::changesSince(const std::string& name, uint64_t modSeq) {
  DataStackFrame frame;
  MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r, openMailbox(name, static_cast<enum mailbox_flags>(0), true));
  struct mailbox* box = r.get();
  // Per-message modseqs exist only once tracking is on (as for an IMAP client using CONDSTORE);
  // before that every message reports the folder's highest one. Switched on once, kept by the index.
  if (mailbox_enable(box, MAILBOX_FEATURE_CONDSTORE) < 0 ||
      mailbox_sync(box, static_cast<enum mailbox_sync_flags>(0)) < 0) {
    return storageError(box, folderLabel(name) + ": cannot track modification sequences");
  }
  struct mailbox_status st;
  if (mailbox_get_status(box, STATUS_HIGHESTMODSEQ, &st) < 0) {
    return storageError(box, folderLabel(name) + ": cannot read HIGHESTMODSEQ");
  }
  DestChanges changes;
  changes.highestModSeq = st.highest_modseq;
  if (modSeq == 0 || st.highest_modseq <= modSeq) {
    return changes;
  }
  Status s =
      forEachMail(box, name, 1, static_cast<enum mail_fetch_field>(0), nullptr, [&](struct mail* mail) {
        if (mail_get_modseq(mail) > modSeq) {
          changes.uids.push_back(mail->uid);
        }
        return Status::ok();
      });
  if (!s.isOk()) {
    return s;
  }
  return changes;
}

Result<std::vector<DestCopy>> DovecotSink::copies(const std::string& name,
                                                  const std::vector<uint32_t>& uids) {
  DataStackFrame frame;
  MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r, openMailbox(name, MAILBOX_FLAG_READONLY, true));
  struct mailbox* box = r.get();
  TransactionHandle t(
      mailbox_transaction_begin(box, static_cast<enum mailbox_transaction_flags>(0), kTransactionReason));
  MailHandle mail(mail_alloc(t.get(), static_cast<enum mail_fetch_field>(0), nullptr));
  std::vector<DestCopy> out;
  for (uint32_t uid : uids) {
    DataStackFrame inner;
    if (!mail_set_uid(mail.get(), uid)) {
      continue;  // expunged meanwhile
    }
    DestCopy c;
    c.uid = uid;
    if (!readContentKey(mail.get(), c.key)) {
      if (mail.get()->expunged) {
        continue;
      }
      return storageError(box, folderLabel(name) + ": cannot read UID " + std::to_string(uid));
    }
    c.guid = c.key.guid;
    c.modSeq = mail_get_modseq(mail.get());
    out.push_back(std::move(c));
  }
  return out;
}

bool DovecotSink::selectCopy(struct mail* mail, uint32_t uid, const std::string& guid,
                             uint64_t unchangedSince) {
  std::string current;
  return mail_set_uid(mail, uid) && mailGuid(mail, current) && !mail->expunged && current == guid &&
         (unchangedSince == 0 || mail_get_modseq(mail) <= unchangedSince);
}

Status DovecotSink::commitExpunges(struct mailbox* box, TransactionHandle& t, const std::string& name,
                                   size_t count) {
  if (mailbox_transaction_commit(t.ptr()) < 0) {
    return storageError(box, folderLabel(name) + ": expunging " + std::to_string(count) + " messages failed");
  }
  // The storage removes the messages' files when it syncs (as doveadm expunge does).
  if (mailbox_sync(box, static_cast<enum mailbox_sync_flags>(0)) < 0) {
    return storageError(box, folderLabel(name) + ": cannot synchronize after expunging");
  }
  if (options_.syncAfterCommit && count > 0) {
    return flushFlagChanges(box).withPrefix(folderLabel(name));
  }
  return Status::ok();
}

Result<std::vector<uint32_t>> DovecotSink::expunge(const std::string& name,
                                                   const std::vector<DestCopy>& copies,
                                                   uint64_t unchangedSince) {
  DataStackFrame frame;
  MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r, openMailbox(name, static_cast<enum mailbox_flags>(0), true));
  struct mailbox* box = r.get();
  // Not MAILBOX_TRANSACTION_FLAG_EXTERNAL: an external transaction records changes the storage
  // already has, so maildir would keep the file and the message would reappear.
  TransactionHandle t(
      mailbox_transaction_begin(box, static_cast<enum mailbox_transaction_flags>(0), kTransactionReason));
  MailHandle mail(mail_alloc(t.get(), MAIL_FETCH_GUID, nullptr));
  std::vector<uint32_t> done;
  for (const DestCopy& c : copies) {
    DataStackFrame inner;
    if (selectCopy(mail.get(), c.uid, c.guid, unchangedSince)) {
      mail_expunge(mail.get());
      done.push_back(c.uid);
    }
  }
  mail.reset();
  MIGRATE_RETURN_IF_ERROR(commitExpunges(box, t, name, done.size()));
  return done;
}

Result<uint32_t> DovecotSink::saveMovedCopy(struct mail* mail, const MoveRequest& request) {
  MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r,
                           openMailbox(request.to, static_cast<enum mailbox_flags>(0), true));
  struct mailbox* box = r.get();
  MIGRATE_ASSIGN_OR_RETURN(auto present, guidMap(box, request.to, 1));
  auto it = present.find(request.newGuid);
  if (it != present.end()) {
    return it->second;  // saved by a move that was cut short before its expunge
  }
  const std::string what = folderLabel(request.to) + ": moving UID " + std::to_string(request.uid) + " of " +
                           folderLabel(request.from) + " failed";
  struct istream* input = nullptr;
  if (mail_get_stream(mail, nullptr, nullptr, &input) < 0) {
    return storageError(mail->box, what + ": cannot read the message");
  }
  TransactionHandle t(mailbox_transaction_begin(
      box,
      static_cast<enum mailbox_transaction_flags>(MAILBOX_TRANSACTION_FLAG_EXTERNAL |
                                                  MAILBOX_TRANSACTION_FLAG_ASSIGN_UIDS),
      kTransactionReason));
  SaveHandle save(mailbox_save_alloc(t.get()));
  setSaveFlags(box, save.get(), request.to, request.flags, request.internalDate, request.tzOffsetMinutes);
  if (guidIsSafe(request.newGuid)) {
    mailbox_save_set_guid(save.get(), request.newGuid.c_str());
  }
  if (request.wantUid != 0 && request.wantUid != kUidMax) {
    mailbox_save_set_uid(save.get(), request.wantUid);
  }
  resetFlush();
  MIGRATE_RETURN_IF_ERROR(
      writeMessage(box, save, input, request.internalDate, what, "see the Dovecot log of this user"));
  struct mail_transaction_commit_changes changes;
  if (mailbox_transaction_commit_get_changes(t.ptr(), &changes) < 0) {
    return storageError(box, what);
  }
  uint32_t uid = 0;
  const struct seq_range* range;
  array_foreach(&changes.saved_uids, range) {
    uid = range->seq1;
  }
  pool_unref(&changes.pool);
  if (options_.syncAfterCommit) {
    Status fs = flushCommitted(box);
    resetFlush();
    MIGRATE_RETURN_IF_ERROR(fs.withPrefix(folderLabel(request.to)));
  }
  return uid;
}

Result<uint32_t> DovecotSink::move(const MoveRequest& request) {
  if (trans_) {
    return Status(ErrorKind::Internal, "move() while the batch of " + folderLabel(boxName_) + " is open");
  }
  uint32_t uid = 0;
  {
    DataStackFrame frame;
    MIGRATE_ASSIGN_OR_RETURN(MailboxHandle r, openMailbox(request.from, MAILBOX_FLAG_READONLY, true));
    TransactionHandle t(mailbox_transaction_begin(r.get(), static_cast<enum mailbox_transaction_flags>(0),
                                                  kTransactionReason));
    MailHandle mail(mail_alloc(t.get(), MAIL_FETCH_GUID, nullptr));
    if (!selectCopy(mail.get(), request.uid, request.guid, request.unchangedSince)) {
      return 0u;
    }
    MIGRATE_ASSIGN_OR_RETURN(uid, saveMovedCopy(mail.get(), request));
  }
  // The original goes in a transaction of its own, as expunge() does it. Changed meanwhile: the
  // copy is made all the same and the original stays for the user (the next run finds it again).
  DestCopy original;
  original.uid = request.uid;
  original.guid = request.guid;
  MIGRATE_RETURN_IF_ERROR(expunge(request.from, {original}, request.unchangedSince).status());
  return uid;
}

}  // namespace

std::unique_ptr<Sink> makeDovecotSink(struct mail_user* user, const SinkOptions& options) {
  return std::make_unique<DovecotSink>(user, options);
}

}  // namespace migrate::dovecot
