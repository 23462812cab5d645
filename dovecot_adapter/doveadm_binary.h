#pragma once
// The doveadm a background run executes, and the configuration file to give it with -c: the
// first-login run (plugin/mail_plugin/first_login.cpp) and the runs the doveadm module starts
// from inside doveadm-server (HTTP API), where /proc/self/exe is doveadm-server, not doveadm.

#include <string>

namespace migrate::dovecot {

// The setting migrate_on_login_doveadm's default.
inline constexpr const char* kDefaultDoveadm = "/usr/bin/doveadm";

// The dovecot.conf this process runs with. A process started by the master gets its settings
// from the config socket (<base_dir>/config, 0600 root: useless to a mail uid); the master keeps a
// symlink to its config file next to it, <base_dir>/dovecot.conf. Empty: let doveadm use its
// default.
std::string runningConfigFile();

}  // namespace migrate::dovecot
