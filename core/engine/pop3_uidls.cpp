#include "engine/pop3_uidls.h"

#include <algorithm>
#include <map>
#include <vector>

#include "imap/command.h"

namespace migrate {

namespace {

Result<std::vector<ImapSide>> imapSizes(imap::Session& imap) {
  std::vector<ImapSide> out;
  MIGRATE_ASSIGN_OR_RETURN(imap::MailboxStatus ex, imap.examine("INBOX"));
  if (ex.messages == 0) {
    return out;
  }
  MIGRATE_RETURN_IF_ERROR(imap.uidFetch(1, 0, "UID RFC822.SIZE", [&out](const imap::FetchedMessage& m) {
    out.push_back({m.uid, m.size, {}});
    return Status::ok();
  }));
  std::sort(out.begin(), out.end(), [](const ImapSide& a, const ImapSide& b) { return a.uid < b.uid; });
  return out;
}

// Header digests for the messages from `from` on, at both sides.
Status digestsFrom(size_t from, imap::Session& imap, pop3::Session& pop3, std::vector<Pop3Side>& pops,
                   std::vector<ImapSide>& imaps) {
  std::map<uint32_t, size_t> byUid;
  std::vector<uint32_t> uids;
  for (size_t k = from; k < imaps.size(); k++) {
    byUid[imaps[k].uid] = k;
    uids.push_back(imaps[k].uid);
  }
  if (!uids.empty()) {
    MIGRATE_RETURN_IF_ERROR(imap.uidFetchSet(imap::compressUidSet(uids), "UID BODY.PEEK[HEADER]",
                                             [&](const imap::FetchedMessage& m) {
                                               auto it = byUid.find(m.uid);
                                               if (it != byUid.end() && !m.header.empty()) {
                                                 imaps[it->second].digest = headerDigest(m.header);
                                               }
                                               return Status::ok();
                                             }));
  }
  std::map<uint32_t, size_t> byNumber;
  std::vector<uint32_t> numbers;
  for (size_t i = from; i < pops.size(); i++) {
    byNumber[pops[i].number] = i;
    numbers.push_back(pops[i].number);
  }
  return pop3.headers(numbers, [&](uint32_t number, const std::string& header) {
    pops[byNumber[number]].digest = headerDigest(header);
    return Status::ok();
  });
}

}  // namespace

Result<Pop3Match> readPop3Uidls(imap::Session& imap, pop3::Session& pop3) {
  // IMAP first: the POP3 side is listed last, so its session idles the least.
  MIGRATE_ASSIGN_OR_RETURN(std::vector<ImapSide> imaps, imapSizes(imap));
  MIGRATE_ASSIGN_OR_RETURN(std::vector<pop3::Listed> listed, pop3.list());
  std::vector<Pop3Side> pops;
  pops.reserve(listed.size());
  for (const pop3::Listed& l : listed) {
    pops.push_back({l.number, l.size, l.uidl, {}});
  }
  const size_t prefix = pairedBySize(pops, imaps);
  if (prefix < pops.size() || prefix < imaps.size()) {
    MIGRATE_RETURN_IF_ERROR(digestsFrom(prefix, imap, pop3, pops, imaps));
  }
  return matchPop3(pops, imaps);
}

}  // namespace migrate
