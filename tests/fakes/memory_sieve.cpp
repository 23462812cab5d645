#include "fakes/memory_sieve.h"

namespace migrate::testing {

Result<std::vector<sieve::ScriptEntry>> MemorySieveStorage::list() {
  std::vector<sieve::ScriptEntry> out;
  for (const auto& [name, text] : d_.scripts) {
    out.push_back({name, name == d_.active});
  }
  return out;
}

Result<std::optional<std::string>> MemorySieveStorage::get(const std::string& name) {
  auto it = d_.scripts.find(name);
  return it == d_.scripts.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
}

Status MemorySieveStorage::save(const std::string& name, const std::string& script) {
  if (!nameIsValid(name)) {
    return Status(ErrorKind::LocalStorage, "invalid script name");
  }
  d_.scripts[name] = script;
  d_.saves++;
  return Status::ok();
}

Result<SieveCompile> MemorySieveStorage::check(const std::string& name, bool /*activation*/) {
  auto it = d_.scripts.find(name);
  if (it == d_.scripts.end()) {
    return Status(ErrorKind::NotFound, "no script " + name);
  }
  SieveCompile c;
  size_t at = it->second.find("frobnicate");
  c.ok = at == std::string::npos;
  if (!c.ok) {
    size_t line = 1;
    for (size_t i = 0; i < at; i++) {
      line += it->second[i] == '\n' ? 1 : 0;
    }
    c.messages = name + ": line " + std::to_string(line) + ": error: unknown command 'frobnicate'.";
  }
  return c;
}

Status MemorySieveStorage::activate(const std::string& name) {
  if (d_.scripts.count(name) == 0) {
    return Status(ErrorKind::NotFound, "no script " + name);
  }
  d_.active = name;
  return Status::ok();
}

bool MemorySieveStorage::nameIsValid(const std::string& name) const {
  return !name.empty() && name.size() <= 256 && name.find('/') == std::string::npos;
}

}  // namespace migrate::testing
