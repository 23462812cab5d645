#include "fakes/fake_source.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "common/base64.h"

namespace migrate::testing {

namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// Splits a command into words, keeping quoted strings and parenthesised groups together.
std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ') {
      i++;
      continue;
    }
    std::string w;
    if (s[i] == '"') {
      i++;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) {
          i++;
        }
        w += s[i++];
      }
      i++;
      out.push_back(w);
      continue;
    }
    int depth = 0;
    while (i < s.size() && (depth > 0 || s[i] != ' ')) {
      if (s[i] == '(' || s[i] == '[') {
        depth++;
      } else if (s[i] == ')' || s[i] == ']') {
        depth--;
      }
      w += s[i++];
    }
    out.push_back(w);
  }
  return out;
}

std::string quote(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
    }
    o += c;
  }
  return o + "\"";
}

std::string joinFlags(const std::vector<std::string>& f) {
  std::string o;
  for (const std::string& x : f) {
    o += (o.empty() ? "" : " ") + x;
  }
  return o;
}

}  // namespace

FakeSource::FakeSource() {
  folder("INBOX");
}

FakeFolder& FakeSource::folder(const std::string& name, std::vector<std::string> attributes) {
  FakeFolder& f = folders[name];
  if (f.name.empty()) {
    f.name = name;
    f.uidValidity = 100 + static_cast<uint32_t>(folders.size());
    f.uidNext = 1;
  }
  if (!attributes.empty()) {
    f.attributes = std::move(attributes);
  }
  return f;
}

uint32_t FakeSource::add(const std::string& name, const std::string& bytes, std::vector<std::string> flags,
                         const std::string& internalDate) {
  FakeFolder& f = folder(name);
  FakeMessage m;
  m.uid = f.uidNext++;
  m.flags = std::move(flags);
  m.internalDate = internalDate;
  m.bytes = bytes;
  m.modseq = ++highestModSeq;
  f.messages.push_back(m);
  return m.uid;
}

void FakeSource::setFlags(const std::string& name, uint32_t uid, std::vector<std::string> flags) {
  for (FakeMessage& m : folder(name).messages) {
    if (m.uid == uid) {
      m.flags = std::move(flags);
      m.modseq = ++highestModSeq;
    }
  }
}

void FakeSource::makeGmail() {
  capabilities += " X-GM-EXT-1";
  folder("[Gmail]", {"\\HasChildren", "\\Noselect"}).subscribed = false;
  folder("[Gmail]/All Mail", {"\\HasNoChildren", "\\All"});
  folder("[Gmail]/Drafts", {"\\HasNoChildren", "\\Drafts"});
  folder("[Gmail]/Important", {"\\HasNoChildren", "\\Important"});
  folder("[Gmail]/Sent Mail", {"\\HasNoChildren", "\\Sent"});
  folder("[Gmail]/Spam", {"\\HasNoChildren", "\\Junk"});
  folder("[Gmail]/Starred", {"\\HasNoChildren", "\\Flagged"});
  folder("[Gmail]/Trash", {"\\HasNoChildren", "\\Trash"});
}

void FakeSource::addGmail(const std::string& bytes, const std::vector<std::string>& labels,
                          std::vector<std::string> flags, const std::string& internalDate) {
  const uint64_t id = nextGmMsgId_++;
  auto folderOf = [](const std::string& label) -> std::string {
    if (label == "\\Inbox") {
      return "INBOX";
    }
    const std::pair<const char*, const char*> kSystem[] = {
        {"\\Sent", "[Gmail]/Sent Mail"},      {"\\Draft", "[Gmail]/Drafts"},
        {"\\Trash", "[Gmail]/Trash"},         {"\\Spam", "[Gmail]/Spam"},
        {"\\Important", "[Gmail]/Important"}, {"\\Starred", "[Gmail]/Starred"}};
    for (const auto& [l, f] : kSystem) {
      if (label == l) {
        return f;
      }
    }
    return label;
  };
  std::vector<std::string> places;
  bool binned = false;
  for (const std::string& l : labels) {
    places.push_back(folderOf(l));
    binned = binned || l == "\\Trash" || l == "\\Spam";
  }
  if (!binned) {
    places.emplace_back("[Gmail]/All Mail");
  }
  for (const std::string& place : places) {
    add(place, bytes, flags, internalDate);
    FakeMessage& m = folders[place].messages.back();
    m.gmMsgId = id;
    for (const std::string& l : labels) {
      if (folderOf(l) != place) {
        m.labels.push_back(l);
      }
    }
  }
}

std::string FakeSource::makeMessage(const std::string& subject, const std::string& messageId,
                                    size_t bodyBytes) {
  std::string m = "From: a@example.org\r\nTo: b@example.org\r\nSubject: " + subject +
                  "\r\nMessage-ID: " + messageId + "\r\n\r\n";
  while (m.size() < bodyBytes) {
    m += "line of text " + std::to_string(m.size()) + "\r\n";
  }
  return m;
}

std::unique_ptr<net::Transport> FakeSource::connect() {
  servers_.push_back(std::make_unique<FakeImapServer>(
      "* OK [CAPABILITY " + capabilities + "] Fake ready.\r\n",
      [this](const std::string& tag, const std::string& cmd) { return handle(tag, cmd); }));
  return servers_.back()->clientTransport();
}

std::string FakeSource::handleOAuth(const std::string& tag, const std::string& command) {
  if (oauthStage_ == 1) {
    // The client's response line (base64, no tag) arrives split at its first space, if any.
    return checkOAuth(oauthTag_, command.empty() ? tag : tag + " " + command);
  }
  if (oauthStage_ == 2) {
    oauthStage_ = 0;
    return oauthTag_ + " NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n";
  }
  oauthTag_ = tag;
  std::vector<std::string> w = words(command);
  if (w.size() >= 3) {
    return checkOAuth(tag, w[2]);
  }
  oauthStage_ = 1;
  return "+ \r\n";
}

std::string FakeSource::checkOAuth(const std::string& tag, const std::string& response) {
  oauthAttempts++;
  std::string dec;
  base64Decode(response, dec);
  const std::string marker = "auth=Bearer ";
  size_t p = dec.find(marker);
  std::string token = p == std::string::npos ? std::string() : dec.substr(p + marker.size());
  token = token.substr(0, token.find('\x01'));
  if (!oauthToken.empty() && token == oauthToken) {
    oauthStage_ = 0;
    return tag + " OK [CAPABILITY " + capabilities + "] Logged in\r\n";
  }
  oauthStage_ = 2;
  return "+ " + base64Encode(R"({"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"})") +
         "\r\n";
}

std::string FakeSource::handle(const std::string& tag, const std::string& command) {
  std::vector<std::string> w = words(command);
  std::string verb = w.empty() ? "" : upper(w[0]);
  std::ostringstream o;
  auto folderMaxModSeq = [](const FakeFolder& f) {
    uint64_t m = 1;
    for (const FakeMessage& x : f.messages) {
      m = std::max(m, x.modseq);
    }
    return m;
  };
  if (oauthStage_ != 0 || (verb == "AUTHENTICATE" && w.size() >= 2 &&
                           (upper(w[1]) == "XOAUTH2" || upper(w[1]) == "OAUTHBEARER"))) {
    return handleOAuth(tag, command);
  }
  if (verb == "CAPABILITY") {
    o << "* CAPABILITY " << capabilities << "\r\n" << tag << " OK done\r\n";
  } else if (verb == "AUTHENTICATE" && w.size() >= 3) {
    std::string dec;
    base64Decode(w[2], dec);
    std::string pw = dec.substr(dec.rfind('\0') + 1);
    if (pw == password) {
      o << tag << " OK [CAPABILITY " << capabilities << "] Logged in\r\n";
    } else {
      o << tag << " NO [AUTHENTICATIONFAILED] Authentication failed.\r\n";
    }
  } else if (verb == "LOGIN" && w.size() >= 3) {
    o << tag
      << (w[2] == password ? " OK Logged in\r\n" : " NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
  } else if (verb == "NAMESPACE") {
    o << "* NAMESPACE ((" << quote(namespacePrefix) << " \"" << delimiter << "\")) NIL NIL\r\n"
      << tag << " OK done\r\n";
  } else if (verb == "LIST" || verb == "LSUB") {
    for (const auto& [name, f] : folders) {
      if (verb == "LSUB" && !f.subscribed) {
        continue;
      }
      std::string raw = name == "INBOX" ? name : namespacePrefix + name;
      std::replace(raw.begin(), raw.end(), '/', delimiter);
      o << "* " << verb << " (" << joinFlags(f.attributes) << ") \"" << delimiter << "\" " << quote(raw)
        << "\r\n";
    }
    o << tag << " OK done\r\n";
  } else if (verb == "STATUS" || verb == "EXAMINE" || verb == "SELECT") {
    if (verb == "SELECT") {
      sawWrite = true;
    }
    std::string raw = w.size() > 1 ? w[1] : "";
    std::string name = raw;
    if (!namespacePrefix.empty() && name.compare(0, namespacePrefix.size(), namespacePrefix) == 0) {
      name = name.substr(namespacePrefix.size());
    }
    std::replace(name.begin(), name.end(), delimiter, '/');
    auto it = folders.find(name);
    if (it == folders.end()) {
      return tag + " NO [NONEXISTENT] Mailbox doesn't exist: " + raw + "\r\n";
    }
    const FakeFolder& f = it->second;
    if (verb == "STATUS") {
      o << "* STATUS " << quote(raw) << " (MESSAGES " << f.messages.size() << " UIDNEXT " << f.uidNext
        << " UIDVALIDITY " << f.uidValidity;
      if (command.find("HIGHESTMODSEQ") != std::string::npos) {
        o << " HIGHESTMODSEQ " << folderMaxModSeq(f);
      }
      o << ")\r\n" << tag << " OK done\r\n";
    } else {
      examines++;
      selected_ = name;
      o << "* " << f.messages.size() << " EXISTS\r\n* OK [UIDVALIDITY " << f.uidValidity
        << "] ok\r\n* OK [UIDNEXT " << f.uidNext << "] ok\r\n* OK [HIGHESTMODSEQ " << folderMaxModSeq(f)
        << "] ok\r\n"
        << tag << " OK [READ-ONLY] done\r\n";
    }
  } else if (verb == "UID" && w.size() >= 4 && upper(w[1]) == "FETCH") {
    fetches++;
    const FakeFolder& f = folders[selected_];
    // A UID set: "n", "n:m", "n:*", and lists of them ("1,3:5,9").
    std::vector<std::pair<uint32_t, uint32_t>> ranges;
    {
      std::string set = w[2];
      size_t start = 0;
      while (start <= set.size()) {
        size_t comma = set.find(',', start);
        std::string item = set.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        size_t colon = item.find(':');
        uint32_t a = static_cast<uint32_t>(std::stoul(item.substr(0, colon)));
        uint32_t b = a;
        if (colon != std::string::npos) {
          b = item.substr(colon + 1) == "*" ? UINT32_MAX
                                            : static_cast<uint32_t>(std::stoul(item.substr(colon + 1)));
        }
        ranges.emplace_back(a, b);
        if (comma == std::string::npos) {
          break;
        }
        start = comma + 1;
      }
    }
    const uint32_t last = ranges.size() == 1 ? ranges[0].second : 0;  // UINT32_MAX: "n:*"
    auto inSet = [&ranges](uint32_t uid) {
      return std::any_of(ranges.begin(), ranges.end(), [uid](const std::pair<uint32_t, uint32_t>& r) {
        return uid >= r.first && uid <= r.second;
      });
    };
    std::string items = upper(w[3]);
    uint64_t changedSince = 0;
    size_t cs = upper(command).find("CHANGEDSINCE ");
    if (cs != std::string::npos) {
      changedSince = std::stoull(command.substr(cs + 13));
    }
    if (items.find("BODY[]") != std::string::npos && items.find("BODY.PEEK[]") == std::string::npos) {
      sawWrite = true;
    }
    if (throttleFetches > 0 && items.find("BODY.PEEK[]") != std::string::npos) {
      throttleFetches--;
      return tag + " NO [THROTTLED] Request is throttled. Suggested Backoff Time: 4000 milliseconds\r\n";
    }
    if (items.find("BINARY.PEEK[]") != std::string::npos) {
      if (capabilities.find("BINARY") == std::string::npos) {
        return tag + " BAD Error in IMAP command UID FETCH: Unknown parameter BINARY.PEEK[]\r\n";
      }
      binaryFetches++;
    }
    std::vector<const FakeMessage*> hits;
    bool expunged = false;
    for (const FakeMessage& m : f.messages) {
      if (expungeDuringFetch != 0 && m.uid == expungeDuringFetch &&
          items.find("BODY.PEEK[]") != std::string::npos) {
        expunged = true;
        continue;
      }
      if (inSet(m.uid) && m.modseq > changedSince) {
        hits.push_back(&m);
      }
    }
    if (hits.empty() && last == UINT32_MAX && !f.messages.empty() && changedSince == 0) {
      hits.push_back(&f.messages.back());  // "n:*" always matches the last message
    }
    for (const FakeMessage* m : hits) {
      size_t seq = static_cast<size_t>(m - f.messages.data()) + 1;
      o << "* " << seq << " FETCH (UID " << m->uid;
      if (items.find("FLAGS") != std::string::npos) {
        o << " FLAGS (" << joinFlags(m->flags) << ")";
      }
      if (items.find("INTERNALDATE") != std::string::npos) {
        o << " INTERNALDATE \"" << m->internalDate << "\"";
      }
      if (items.find("RFC822.SIZE") != std::string::npos) {
        o << " RFC822.SIZE " << m->bytes.size();
      }
      if (items.find("X-GUID") != std::string::npos) {
        o << " X-GUID fake" << m->uid;
      }
      if (items.find("X-GM-LABELS") != std::string::npos) {
        if (capabilities.find("X-GM-EXT-1") == std::string::npos) {
          return tag + " BAD Error in IMAP command FETCH: Invalid arguments\r\n";
        }
        std::string labels;
        for (const std::string& l : m->labels) {
          labels += (labels.empty() ? "" : " ") + (l[0] == '\\' ? l : quote(l));
        }
        o << " X-GM-LABELS (" << labels << ")";
      }
      if (items.find("X-GM-MSGID") != std::string::npos) {
        o << " X-GM-MSGID " << m->gmMsgId;
      }
      if (items.find("HEADER.FIELDS") != std::string::npos) {
        std::string mid;
        size_t p = m->bytes.find("Message-ID: ");
        if (p != std::string::npos) {
          mid = m->bytes.substr(p, m->bytes.find("\r\n", p) - p) + "\r\n";
        }
        mid += "\r\n";
        o << " BODY[HEADER.FIELDS (MESSAGE-ID)] {" << mid.size() << "}\r\n" << mid;
      }
      if (items.find("BODY.PEEK[HEADER]") != std::string::npos) {
        size_t end = m->bytes.find("\r\n\r\n");
        std::string header = end == std::string::npos ? m->bytes : m->bytes.substr(0, end + 4);
        o << " BODY[HEADER] {" << header.size() << "}\r\n" << header;
      }
      if (items.find("BODY.PEEK[]") != std::string::npos && m->noBody) {
        o << " BODY[] NIL)\r\n";
        continue;
      }
      if (items.find("BODY.PEEK[]") != std::string::npos) {
        if (dropAfterBodies >= 0 && bodiesSent >= dropAfterBodies && dropsLeft > 0) {
          std::string partial = o.str();
          // Send half of this message's literal, then drop: a connection lost mid-literal.
          partial += " BODY[] {" + std::to_string(m->bytes.size()) + "}\r\n" +
                     m->bytes.substr(0, m->bytes.size() / 2);
          if (--dropsLeft == 0) {
            dropAfterBodies = -1;
          }
          return partial + "\x01DROP";
        }
        std::string body = m->bytes;
        std::replace(body.begin(), body.end(), '\0', '\x80');
        o << " BODY[] {" << body.size() << "}\r\n" << body;
        bodiesSent++;
      }
      if (items.find("BINARY.PEEK[]") != std::string::npos) {
        const std::string& bin = m->binaryBytes.empty() ? m->bytes : m->binaryBytes;
        o << " BINARY[] " << (bin.find('\0') != std::string::npos ? "~{" : "{") << bin.size() << "}\r\n"
          << bin;
      }
      o << ")\r\n";
    }
    o << tag
      << (expunged ? " NO [EXPUNGEISSUED] Some messages were expunged\r\n" : " OK Fetch completed\r\n");
  } else if (verb == "COMPRESS" && w.size() >= 2 && upper(w[1]) == "DEFLATE" &&
             capabilities.find("COMPRESS=DEFLATE") != std::string::npos) {
    compressions++;
    // FakeImapServer deflates from here on.
    return tag + " OK DEFLATE active\r\n" + std::string("\x01") + "DEFLATE";
  } else if (verb == "LOGOUT") {
    o << "* BYE Logging out\r\n" << tag << " OK done\r\n";
  } else {
    if (verb == "STORE" || verb == "APPEND" || verb == "EXPUNGE" || verb == "COPY" || verb == "MOVE") {
      sawWrite = true;
    }
    o << tag << " BAD Unknown command\r\n";
  }
  return o.str();
}

}  // namespace migrate::testing
