#include "engine/sieve_copy.h"

#include <map>
#include <optional>
#include <utility>

#include "engine/sieve_folders.h"
#include "engine/source_services.h"
#include "sieve/script_rewrite.h"

namespace migrate {

namespace {

// What will become of one source script here.
struct Placement {
  const SourceScript* source = nullptr;
  std::string target;  // its name here
  std::string renamedBecause;
  sieve::RewriteResult rewritten;
  bool unchanged = false;
};

// The compiler's messages on one line, for the report and the log.
std::string oneLine(const std::string& messages) {
  std::string out;
  for (char c : messages) {
    if (c == '\n') {
      out += "; ";
    } else if (c != '\r') {
      out += c;
    }
  }
  return out;
}

std::string validName(const SieveStorage& storage, const std::string& name) {
  if (storage.nameIsValid(name)) {
    return name;
  }
  std::string out;
  for (unsigned char c : name.substr(0, 200)) {
    out += (c < 0x20 || c == 0x7f || c == '/') ? '_' : static_cast<char>(c);
  }
  return storage.nameIsValid(out) ? out : "script";
}

// Where each script goes: its own name, unless a script of that name with other bytes is here.
Status placeScripts(const std::vector<SourceScript>& scripts, const sieve::FolderMapFn& folders,
                    SieveStorage& storage, const std::map<std::string, bool>& here,
                    std::vector<Placement>& out) {
  std::map<std::string, std::string> renamed;
  for (const SourceScript& s : scripts) {
    Placement p;
    p.source = &s;
    p.target = validName(storage, s.name);
    if (p.target != s.name) {
      p.renamedBecause = "its name is not valid here";
    }
    p.rewritten = sieve::rewriteScript(s.text, folders);
    if (here.count(p.target) > 0) {
      MIGRATE_ASSIGN_OR_RETURN(std::optional<std::string> existing, storage.get(p.target));
      if (existing && *existing != p.rewritten.script) {
        p.renamedBecause = "a different script '" + p.target + "' is here already (kept)";
        p.target += kSieveMigratedSuffix;
      }
    }
    if (p.target != s.name) {
      renamed[s.name] = p.target;
    }
    out.push_back(std::move(p));
  }
  for (Placement& p : out) {
    if (!renamed.empty()) {
      p.rewritten = sieve::rewriteScript(p.source->text, folders, renamed);
    }
    if (here.count(p.target) > 0) {
      MIGRATE_ASSIGN_OR_RETURN(std::optional<std::string> existing, storage.get(p.target));
      p.unchanged = existing && *existing == p.rewritten.script;
    }
  }
  return Status::ok();
}

void describeFolders(const sieve::RewriteResult& r, SieveScriptReport& sr) {
  if (!r.parseError.isOk()) {
    sr.unmapped.push_back("not rewritten: " + r.parseError.message());
  }
  for (const sieve::FolderRef& f : r.refs) {
    std::string where = "line " + std::to_string(f.line) + ": " + f.command + " '" + f.name + "'";
    if (!f.problem.empty()) {
      sr.unmapped.push_back(where + ": " + f.problem);
    } else if (!f.mappedTo.empty()) {
      sr.mapped.push_back(where + " -> '" + f.mappedTo + "'" +
                          (f.remark.empty() ? "" : " (" + f.remark + ")"));
    }
  }
}

// Stores one script (or, in a dry run, says it would) and compiles it as an upload. The script
// active here is never replaced: delivery would run the new text before anyone checked it.
void storeOne(const Placement& p, SieveStorage& storage, const std::string& activeHere, bool dryRun,
              SieveScriptReport& sr) {
  sr.storedAs = p.target;
  if (p.unchanged) {
    sr.result = "unchanged";
    return;
  }
  if (p.target == activeHere) {
    sr.storedAs.clear();
    sr.result = "skipped";
    sr.detail = "'" + p.target +
                "' is the active script here and differs: not replaced (compare with doveadm sieve get)";
    return;
  }
  if (dryRun) {
    sr.result = "would store";
    return;
  }
  Status st = storage.save(p.target, p.rewritten.script);
  if (!st.isOk()) {
    sr.storedAs.clear();
    sr.result = "skipped";
    sr.detail = "cannot store it as '" + p.target + "': " + st.describe();
    return;
  }
  Result<SieveCompile> c = storage.check(p.target, false);
  if (!c.isOk()) {
    sr.result = "stored inactive";
    sr.detail = c.status().describe();
  } else {
    sr.result = c.value().ok ? "stored" : "stored inactive";
    sr.detail = oneLine(c.value().messages);
  }
}

// The source's active script becomes active here when it compiles as an activation and no
// other script is active here (the customer's own filter stays in charge).
void activate(const Placement& p, SieveStorage& storage, const std::string& activeHere, bool dryRun,
              SieveScriptReport& sr, std::string& activation) {
  const std::string name = "'" + p.target + "'";
  if (activeHere == p.target) {
    activation = name + " is active here already";
    return;
  }
  if (!activeHere.empty()) {
    activation = name + " not activated: '" + activeHere +
                 "' is active here (the customer's own filter is kept; `doveadm sieve activate` switches)";
    return;
  }
  if (sr.storedAs.empty() || dryRun) {
    activation = sr.storedAs.empty() ? name + " not activated: not stored" : name + " would be activated";
    return;
  }
  Result<SieveCompile> c = storage.check(p.target, true);
  if (!c.isOk() || !c.value().ok) {
    activation = name + " not activated: it does not compile here: " +
                 (c.isOk() ? oneLine(c.value().messages) : c.status().describe());
    return;
  }
  Status st = storage.activate(p.target);
  activation = st.isOk() ? name + " activated" : name + " not activated: " + st.describe();
  sr.activated = st.isOk();
}

}  // namespace

Result<std::vector<SourceScript>> fetchSieveScripts(sieve::Session& session) {
  MIGRATE_ASSIGN_OR_RETURN(std::vector<sieve::ScriptEntry> entries, session.listScripts());
  std::vector<SourceScript> out;
  for (const sieve::ScriptEntry& e : entries) {
    MIGRATE_ASSIGN_OR_RETURN(std::string text, session.getScript(e.name));
    out.push_back({e.name, e.active, std::move(text)});
  }
  (void)session.logout();  // the scripts are read: a failed LOGOUT changes nothing
  return out;
}

Status storeSieveScripts(const std::vector<SourceScript>& scripts, const FolderPlan& plan,
                         SieveStorage& storage, bool dryRun, SieveReport& report) {
  MIGRATE_ASSIGN_OR_RETURN(std::vector<sieve::ScriptEntry> existing, storage.list());
  std::map<std::string, bool> here;
  std::string activeHere;
  for (const sieve::ScriptEntry& e : existing) {
    here[e.name] = e.active;
    activeHere = e.active ? e.name : activeHere;
  }
  std::vector<Placement> placed;
  MIGRATE_RETURN_IF_ERROR(placeScripts(scripts, sieveFolderMap(plan), storage, here, placed));
  report.result = "copied";
  const Placement* active = nullptr;
  for (const Placement& p : placed) {
    SieveScriptReport sr;
    sr.name = p.source->name;
    sr.activeAtSource = p.source->active;
    describeFolders(p.rewritten, sr);
    storeOne(p, storage, activeHere, dryRun, sr);
    if (!p.renamedBecause.empty() && !sr.storedAs.empty()) {
      sr.detail =
          "stored as '" + p.target + "': " + p.renamedBecause + (sr.detail.empty() ? "" : "; " + sr.detail);
    }
    active = p.source->active ? &p : active;
    report.scripts.push_back(std::move(sr));
  }
  for (size_t i = 0; i < placed.size(); i++) {
    if (&placed[i] == active) {
      activate(placed[i], storage, activeHere, dryRun, report.scripts[i], report.activation);
    }
  }
  return Status::ok();
}

SieveReport copySieveScripts(const SieveStepEnv& env) {
  SieveReport report;
  auto stop = [&report](const char* result, const std::string& reason) {
    report.result = result;
    report.reason = reason;
    return report;
  };
  Status available = env.sink->sieveAvailable();
  if (!available.isOk()) {
    return stop("skipped", available.describe());
  }
  Result<std::unique_ptr<sieve::Session>> session = env.connect();
  if (!session.isOk()) {
    const Status& st = session.status();
    if (env.autoMode && serviceAbsent(st)) {
      return stop("skipped", "no ManageSieve at " + env.where + ": " + st.message());
    }
    if (env.autoMode && st.kind() == ErrorKind::Config) {
      return stop("skipped", st.message());  // an OAuth2 run: not asked for explicitly
    }
    return stop("failed", "ManageSieve at " + env.where + ": " + st.describe());
  }
  Result<std::vector<SourceScript>> scripts = fetchSieveScripts(*session.value());
  session.value()->close();
  if (!scripts.isOk()) {
    return stop("failed", "ManageSieve at " + env.where + ": " + scripts.status().describe());
  }
  if (scripts.value().empty()) {
    report.result = "copied";
    return report;  // nothing to store: the user's Sieve directory is not even created
  }
  Result<std::unique_ptr<SieveStorage>> storage = env.sink->openSieveStorage();
  if (!storage.isOk()) {
    return stop(storage.status().kind() == ErrorKind::NotFound ? "skipped" : "failed",
                storage.status().describe());
  }
  Status st = storeSieveScripts(scripts.value(), *env.plan, *storage.value(), env.dryRun, report);
  if (!st.isOk()) {
    return stop("failed", st.describe());
  }
  return report;
}

void describeSieveReport(const SieveReport& report, std::vector<std::string>& warnings,
                         std::vector<std::string>& notes) {
  if (report.result == "skipped" || report.result == "failed") {
    (report.result == "failed" ? warnings : notes).push_back("Sieve " + report.summary());
    return;
  }
  for (const SieveScriptReport& s : report.scripts) {
    const std::string name = "Sieve script '" + s.name + "'";
    std::string line = name + ": " + s.result + (s.detail.empty() ? "" : " (" + s.detail + ")");
    (s.result == "stored inactive" || s.result == "skipped" ? warnings : notes).push_back(line);
    for (const std::string& u : s.unmapped) {
      warnings.push_back(name + ", " + u);
    }
    for (const std::string& m : s.mapped) {
      notes.push_back(name + ", " + m);
    }
  }
  if (!report.activation.empty()) {
    const bool fine = report.activation.find("not activated") == std::string::npos;
    (fine ? notes : warnings).push_back("Sieve: " + report.activation);
  }
}

}  // namespace migrate
