#pragma once
// Where lib-storage and the master service differ between Dovecot 2.3 and 2.4, for the Sink and
// the mail plugin: one function per difference, so that no caller tests a version.

#include <string>
#include <vector>

struct mailbox_list;
struct mail_namespace;
struct mail_storage;

namespace migrate::dovecot {

// The storage name escape character of `list` ('\0': none).
char storageEscapeChar(struct mailbox_list* list);

// The directory where `storage` keeps attachments apart (mail_attachment_dir 2.3,
// mail_ext_attachment_path 2.4), or "" when it keeps them in the message files.
std::string attachmentDir(struct mail_storage* storage);

// A mailbox declared in the namespace's configuration (`mailbox NAME { special_use = ... }`).
struct ConfiguredMailbox {
  std::string name;        // without the namespace prefix
  std::string specialUse;  // space-separated flags, "" for none
  bool autoSubscribe = false;
};
std::vector<ConfiguredMailbox> configuredMailboxes(struct mail_namespace* ns);

// Dovecot's base_dir (where the running Dovecot keeps dovecot.conf's link), or "".
std::string serviceBaseDir();

// The settings that say where a user's mail is, as messages name them: "mail_location" (2.3),
// "mail_driver and mail_path" (2.4).
const char* mailLocationSettings() noexcept;

}  // namespace migrate::dovecot
