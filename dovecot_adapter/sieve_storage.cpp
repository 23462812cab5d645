#include "dovecot_adapter/sieve_storage.h"

#include <string>
#include <utility>
#include <vector>

#include "dovecot_adapter/dovecot_api.h"
#include "dovecot_adapter/handles.h"

namespace migrate::dovecot {

namespace {

const migrate_sieve_api* g_api = nullptr;

// Where Debian's dovecot-sieve puts the library the Sieve module needs.
constexpr const char* kSieveLibrary = "libdovecot-sieve.so.0";

std::string text(const char* s) {
  return s != nullptr ? s : "(no message)";
}

class PigeonholeStorage final : public SieveStorage {
 public:
  PigeonholeStorage(const migrate_sieve_api* api, migrate_sieve_storage* storage, std::string user)
      : api_(api), storage_(storage), user_(std::move(user)) {}
  ~PigeonholeStorage() override { api_->close(&storage_); }
  PigeonholeStorage(const PigeonholeStorage&) = delete;
  PigeonholeStorage& operator=(const PigeonholeStorage&) = delete;

  Result<std::vector<sieve::ScriptEntry>> list() override {
    DataStackFrame frame;
    std::vector<sieve::ScriptEntry> out;
    const char* error = nullptr;
    auto add = [](void* context, const char* name, int active) {
      static_cast<std::vector<sieve::ScriptEntry>*>(context)->push_back({name, active != 0});
    };
    if (api_->list(storage_, add, &out, &error) < 0) {
      return failed("cannot list the Sieve scripts", error);
    }
    return out;
  }

  Result<std::optional<std::string>> get(const std::string& name) override {
    DataStackFrame frame;
    const unsigned char* data = nullptr;
    size_t size = 0;
    const char* error = nullptr;
    int ret = api_->get(storage_, name.c_str(), &data, &size, &error);
    if (ret < 0) {
      return failed("cannot read the Sieve script '" + name + "'", error);
    }
    if (ret == 0) {
      return std::optional<std::string>();
    }
    return std::optional<std::string>(std::string(reinterpret_cast<const char*>(data), size));
  }

  Status save(const std::string& name, const std::string& script) override {
    DataStackFrame frame;
    const char* error = nullptr;
    if (api_->save(storage_, name.c_str(), reinterpret_cast<const unsigned char*>(script.data()),
                   script.size(), &error) < 0) {
      return failed("cannot store the Sieve script '" + name + "'", error);
    }
    return Status::ok();
  }

  Result<SieveCompile> check(const std::string& name, bool activation) override {
    DataStackFrame frame;
    const char* messages = nullptr;
    const char* error = nullptr;
    int ret = api_->check(storage_, name.c_str(), activation ? 1 : 0, &messages, &error);
    if (ret < 0) {
      return failed("cannot compile the Sieve script '" + name + "'", error);
    }
    SieveCompile c;
    c.ok = ret > 0;
    c.messages = messages != nullptr ? messages : "";
    while (!c.messages.empty() && c.messages.back() == '\n') {
      c.messages.pop_back();
    }
    return c;
  }

  Status activate(const std::string& name) override {
    DataStackFrame frame;
    const char* error = nullptr;
    if (api_->activate(storage_, name.c_str(), &error) < 0) {
      return failed("cannot activate the Sieve script '" + name + "'", error);
    }
    return Status::ok();
  }

  bool nameIsValid(const std::string& name) const override {
    return name.find('\0') == std::string::npos && api_->name_is_valid(name.c_str()) != 0;
  }

 private:
  Status failed(const std::string& what, const char* error) const {
    return Status(ErrorKind::LocalStorage, what + " of " + user_ + " here: " + text(error),
                  "see Dovecot's log (doveadm -D) and the user's sieve settings");
  }

  const migrate_sieve_api* api_;
  migrate_sieve_storage* storage_;
  std::string user_;
};

}  // namespace

void setSieveApi(const migrate_sieve_api* api) {
  if (api != nullptr && api->version != MIGRATE_SIEVE_API_VERSION) {
    i_warning(
        "migrate: the Sieve module has interface version %u, this doveadm migrate needs %u: "
        "install lib96_doveadm_migrate_sieve_plugin.so of the same build",
        api->version, MIGRATE_SIEVE_API_VERSION);
    return;
  }
  g_api = api;
}

Status sieveAvailable() {
  if (g_api == nullptr) {
    return Status(ErrorKind::NotFound,
                  std::string("Pigeonhole not installed here (no ") + kSieveLibrary +
                      ", or lib96_doveadm_migrate_sieve_plugin.so not in doveadm's module directory)",
                  "apt-get install dovecot-sieve, then run the migration again");
  }
  return Status::ok();
}

Result<std::unique_ptr<SieveStorage>> openSieveStorage(struct mail_user* user) {
  MIGRATE_RETURN_IF_ERROR(sieveAvailable());
  DataStackFrame frame;
  const char* error = nullptr;
  migrate_sieve_storage* storage = g_api->open(user, &error);
  if (storage == nullptr) {
    return Status(
        ErrorKind::NotFound, "no Sieve storage here for " + std::string(user->username) + ": " + text(error),
        "check the sieve settings (2.3: plugin { sieve = ... }, 2.4: sieve_script personal { ... })");
  }
  return std::unique_ptr<SieveStorage>(std::make_unique<PigeonholeStorage>(g_api, storage, user->username));
}

}  // namespace migrate::dovecot
