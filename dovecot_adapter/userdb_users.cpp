#include "dovecot_adapter/userdb_users.h"

#include "dovecot_adapter/doveadm_compat.h"
#include "dovecot_adapter/dovecot_api.h"

namespace migrate::dovecot {

Status findMissingUsers(const std::vector<std::string>& users, std::vector<size_t>& missing) {
  auth_master_connection* conn =
      auth_master_init(doveadm_settings->auth_socket_path, AUTH_MASTER_FLAG_NO_IDLE_TIMEOUT);
  auth_user_info info = doveadmAuthUserInfo();
  pool_t pool = pool_alloconly_create("migrate userdb lookup", 1024);
  Status status;
  for (size_t i = 0; i < users.size(); ++i) {
    p_clear(pool);
    const char* username = nullptr;
    const char* const* fields = nullptr;
    const int ret = auth_master_user_lookup(conn, users[i].c_str(), &info, pool, &username, &fields);
    if (ret == 0) {
      missing.push_back(i);
    } else if (ret < 0) {
      std::string why = fields != nullptr && fields[0] != nullptr ? fields[0] : "";
      status = Status(ErrorKind::Connect,
                      "cannot look up " + users[i] + " in the userdb through " +
                          doveadm_settings->auth_socket_path + (why.empty() ? std::string() : ": " + why),
                      "is Dovecot running with this configuration (doveadm -c)? see the Dovecot log");
      break;
    }
  }
  pool_unref(&pool);
  auth_master_deinit(&conn);
  return status;
}

Status listUsers(const std::string& mask, std::vector<std::string>& out) {
  auth_master_connection* conn =
      auth_master_init(doveadm_settings->auth_socket_path, AUTH_MASTER_FLAG_NO_IDLE_TIMEOUT);
  auth_user_info info = doveadmAuthUserInfo();
  auth_master_user_list_ctx* ctx = auth_master_user_list_init(conn, mask.empty() ? "*" : mask.c_str(), &info);
  while (const char* user = auth_master_user_list_next(ctx)) {
    out.emplace_back(user);
  }
  const int ret = auth_master_user_list_deinit(&ctx);
  auth_master_deinit(&conn);
  if (ret < 0) {
    return Status(
        ErrorKind::Connect,
        std::string("cannot list the users of the userdb through ") + doveadm_settings->auth_socket_path,
        "is Dovecot running, and can its userdb iterate users (passwd-file, SQL with iterate_query)?");
  }
  return Status::ok();
}

}  // namespace migrate::dovecot
