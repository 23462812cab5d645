#pragma once
// The users of the userdb, asked through the auth master socket as doveadm itself asks (`doveadm
// user`, -A): for `migrate batch` and `migrate check`. Only the doveadm module links this
// (doveadm's auth_socket_path).

#include <string>
#include <vector>

#include "common/status.h"

namespace migrate::dovecot {

// Whether each local user exists in the userdb. `missing` gets the indexes of the users not
// found. A Status error when the auth service cannot be asked.
Status findMissingUsers(const std::vector<std::string>& users, std::vector<size_t>& missing);
// Users of the userdb matching `mask` ("" or "*" for all), as `doveadm -A` iterates them.
Status listUsers(const std::string& mask, std::vector<std::string>& out);

}  // namespace migrate::dovecot
