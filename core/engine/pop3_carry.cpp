#include "engine/pop3_carry.h"

#include <chrono>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/guid.h"
#include "engine/pop3_uidls.h"

namespace migrate {

namespace {

constexpr size_t kNamed = 10;  // how many UIDs/UIDLs a warning names

template <class T>
std::string someOf(const T& items) {
  std::string out;
  size_t n = 0;
  for (const auto& item : items) {
    if (n++ == kNamed) {
      return out + ", ...";
    }
    if constexpr (std::is_same_v<std::decay_t<decltype(item)>, std::string>) {
      out += (out.empty() ? "" : ", ") + item;
    } else {
      out += (out.empty() ? "" : ", ") + std::to_string(item);
    }
  }
  return out;
}

Result<Pop3Match> listAndMatch(imap::Session& imap, const SourceOptions& src, const ServiceEndpoint& ep,
                               const ServiceConnectEnv& env, bool& opened) {
  MIGRATE_ASSIGN_OR_RETURN(std::unique_ptr<pop3::Session> pop3, openPop3(src, ep, env));
  opened = true;
  Result<Pop3Match> match = readPop3Uidls(imap, *pop3);
  if (match.isOk()) {
    (void)pop3->quit();
  }
  pop3->close();
  return match;
}

}  // namespace

Status Pop3Carry::read(imap::Session& imap, const SourceOptions& src, const ServiceConnectEnv& env,
                       Pop3Report& report, const std::function<void(const std::string&)>& warn) {
  const ServiceEndpoint ep = pop3Endpoint(src);
  report.server = ep.describe();
  bool opened = false;
  const auto t0 = std::chrono::steady_clock::now();
  Result<Pop3Match> match = listAndMatch(imap, src, ep, env, opened);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (match.isOk()) {
    match_ = std::move(match).value();
    report.state = "read";
    report.listed = static_cast<uint32_t>(match_->byUid.size() + match_->pop3Only.size());
    report.pop3Only = match_->pop3Only;
    report.unusable = match_->unusable;
    return Status::ok();
  }
  const Status& e = match.status();
  if (!ep.automatic || (opened && e.retriable())) {
    // A server named by the admin must work: INBOX is not copied without its UIDLs, which the
    // storage could not add later. A connection lost while listing is retried with the run.
    return Status(e.kind(), "reading the POP3 UIDLs at " + ep.describe() + ": " + e.message(),
                  (e.hint().empty() ? std::string() : e.hint() + "; ") +
                      "INBOX is copied once its POP3 UIDLs can be read (or with --source-pop3 no)");
  }
  // Not there, or not for this login (an OAuth2 token): nothing to warn about in auto mode.
  report.state = !opened && (serviceAbsent(e) || e.kind() == ErrorKind::Config) ? "skipped" : "failed";
  report.reason = e.describe();
  if (report.state == "failed") {
    warn("POP3 UIDLs not kept (" + ep.describe() + "): " + e.describe() +
         "; POP3 clients that keep their mail on the server will download INBOX again");
  }
  return Status::ok();
}

void Pop3Carry::apply(uint32_t uid, IncomingMessage& message) {
  if (!match_) {
    return;
  }
  auto it = match_->byUid.find(uid);
  if (it != match_->byUid.end()) {
    message.pop3Uidl = it->second.uidl;
    message.pop3Order = it->second.order;
  }
}

std::vector<Pop3UidlUpdate> Pop3Carry::earlierCopies(const FolderWork& w,
                                                     const std::string& sourceUser) const {
  std::vector<Pop3UidlUpdate> out;
  if (!match_ || !w.known || w.uidValidityChanged) {
    return out;
  }
  for (const auto& [uid, a] : match_->byUid) {
    if (uid > w.lastUidBefore) {
      break;
    }
    out.push_back({sourceMessageGuid(sourceUser, w.plan->rawName, w.state->uidValidity, uid),
                   w.state->preserveUids ? uid : 0, a.uidl});
  }
  return out;
}

void Pop3Carry::count(uint32_t uid) {
  if (!match_) {
    return;
  }
  if (match_->byUid.count(uid) != 0) {
    kept_.insert(uid);
  } else {
    unmatched_.insert(uid);
  }
}

void Pop3Carry::finish(Pop3Report& report, const std::function<void(const std::string&)>& warn) const {
  if (!match_) {
    return;
  }
  report.kept = static_cast<uint32_t>(kept_.size());
  report.unmatched.assign(unmatched_.begin(), unmatched_.end());
  if (!unmatched_.empty()) {
    warn(std::to_string(unmatched_.size()) +
         " INBOX messages have no match in the old server's POP3 list and got new UIDLs (source UIDs " +
         someOf(unmatched_) + "): POP3 clients that keep their mail on the server download them again");
  }
  if (!report.pop3Only.empty()) {
    warn(std::to_string(report.pop3Only.size()) +
         " messages of the old server's POP3 list have no IMAP message in INBOX (UIDLs " +
         someOf(report.pop3Only) + "): IMAP does not show them, so they were not copied");
  }
  if (!report.unusable.empty()) {
    warn(std::to_string(report.unusable.size()) + " POP3 UIDLs of the old server cannot be kept (" +
         someOf(report.unusable) + "): empty, over 70 characters, outside ASCII 0x21-0x7E or repeated");
  }
}

}  // namespace migrate
