#pragma once
// The names of the files this tool keeps for a user: every one starts with kStateFilePrefix, since
// they share a directory with the mail storage's own files (dovecot_adapter/state_location.h says
// which one, and why). Earlier versions kept the same files without the prefix in
// <home>/.migrate/; a legacy file NAME becomes kStateFilePrefix + NAME.

namespace migrate {

constexpr const char* kStateFilePrefix = "dovecot-migrate.";

}  // namespace migrate
