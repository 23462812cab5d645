#include "dovecot_adapter/storage_compat.h"

#include "dovecot_adapter/dovecot_api.h"

namespace migrate::dovecot {

#if DOVECOT_PREREQ(2, 4, 0)
char storageEscapeChar(struct mailbox_list* list) {
  return mailbox_list_get_mail_set(list)->mailbox_list_storage_escape_char[0];
}

std::string attachmentDir(struct mail_storage* storage) {
  const char* path = storage->set->mail_ext_attachment_path;
  return path != nullptr ? path : "";
}

std::vector<ConfiguredMailbox> configuredMailboxes(struct mail_namespace* ns) {
  std::vector<ConfiguredMailbox> out;
  if (ns->set == nullptr || !array_is_created(&ns->set->parsed_mailboxes)) {
    return out;
  }
  const struct mailbox_settings* set = nullptr;
  array_foreach_elem(&ns->set->parsed_mailboxes, set) {
    ConfiguredMailbox box;
    box.name = set->name != nullptr ? set->name : "";
    if (array_is_created(&set->special_use)) {
      for (const char* const* use = settings_boollist_get(&set->special_use); *use != nullptr; ++use) {
        box.specialUse += (box.specialUse.empty() ? "" : " ") + std::string(*use);
      }
    }
    box.autoSubscribe =
        set->autocreate != nullptr && strcmp(set->autocreate, MAILBOX_SET_AUTO_SUBSCRIBE) == 0;
    out.push_back(std::move(box));
  }
  return out;
}

std::string serviceBaseDir() {
  const struct master_service_settings* set = master_service_get_service_settings(master_service);
  return set != nullptr && set->base_dir != nullptr ? set->base_dir : "";
}
#else
char storageEscapeChar(struct mailbox_list* list) {
  return mailbox_list_get_settings(list)->storage_name_escape_char;
}

std::string attachmentDir(struct mail_storage* storage) {
  const char* dir = storage->set->mail_attachment_dir;
  return dir != nullptr ? dir : "";
}

std::vector<ConfiguredMailbox> configuredMailboxes(struct mail_namespace* ns) {
  std::vector<ConfiguredMailbox> out;
  if (ns->set == nullptr || !array_is_created(&ns->set->mailboxes)) {
    return out;
  }
  struct mailbox_settings* const* sets;
  unsigned int count = 0;
  sets = array_get(&ns->set->mailboxes, &count);
  for (unsigned int i = 0; i < count; i++) {
    ConfiguredMailbox box;
    box.name = sets[i]->name != nullptr ? sets[i]->name : "";
    box.specialUse = sets[i]->special_use != nullptr ? sets[i]->special_use : "";
    box.autoSubscribe =
        sets[i]->autocreate != nullptr && strcmp(sets[i]->autocreate, MAILBOX_SET_AUTO_SUBSCRIBE) == 0;
    out.push_back(std::move(box));
  }
  return out;
}

std::string serviceBaseDir() {
  const struct master_service_settings* set = master_service_settings_get(master_service);
  return set != nullptr && set->base_dir != nullptr ? set->base_dir : "";
}
#endif

const char* mailLocationSettings() noexcept {
#if DOVECOT_PREREQ(2, 4, 0)
  return "mail_driver and mail_path";
#else
  return "mail_location";
#endif
}

}  // namespace migrate::dovecot
