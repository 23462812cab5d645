#pragma once
// The Sieve step of a run (issue 13): the old server's scripts, read over ManageSieve, their
// folder names rewritten through the plan the mail took (engine/sieve_folders.h), written into
// the user's Sieve storage here. Every script is stored first, even one that does not compile
// here (inactive, with the compiler's messages); the script active at the source is activated
// last, and only when it compiles here and no other script is active here.
//
// Names: a script here of the same name with the same bytes is left ("unchanged"); one with
// other bytes is the customer's (or an older copy's) and is kept: ours goes in as
// "<name>-migrated" (replaced by later runs), and `include`s of it follow. A name this
// storage cannot take ('/', control characters) has those characters replaced by '_'.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/plan.h"
#include "engine/report.h"
#include "engine/sieve_store.h"
#include "engine/sink.h"
#include "sieve/managesieve.h"

namespace migrate {

struct SourceScript {
  std::string name;
  bool active = false;
  std::string text;  // the bytes as the server keeps them
};

// LISTSCRIPTS, a GETSCRIPT for each, then LOGOUT (no remote session is held during local work).
Result<std::vector<SourceScript>> fetchSieveScripts(sieve::Session& session);

// Fills report.scripts and report.activation; a dry run writes nothing and says what it would.
// Returns an error only when the storage cannot be read at all.
Status storeSieveScripts(const std::vector<SourceScript>& scripts, const FolderPlan& plan,
                         SieveStorage& storage, bool dryRun, SieveReport& report);

// What the step needs from its run.
struct SieveStepEnv {
  Sink* sink = nullptr;
  const FolderPlan* plan = nullptr;
  bool dryRun = false;
  // A ManageSieve session at the source, logged in as the user.
  std::function<Result<std::unique_ptr<sieve::Session>>()> connect;
  // --source-sieve auto: a host that does not answer on the ManageSieve port
  // (engine/source_services.h serviceAbsent()) is "skipped", not "failed".
  bool autoMode = true;
  std::string where;  // "imap.old.example:4190 (STARTTLS)", for messages
};

// The whole step: whether scripts can be kept here (no connection when Pigeonhole is missing),
// the scripts from the source, then the storage here (opened only when there are scripts: it
// creates the user's Sieve directory), and storing them. Never fails the run: a problem is the report's
// "skipped" or "failed" with the reason.
SieveReport copySieveScripts(const SieveStepEnv& env);

// The report's lines for the admin: what needs a look (a script stored inactive with the
// compiler's messages, folder names left unmapped, an activation not done) as warnings, and
// what went well as notes.
void describeSieveReport(const SieveReport& report, std::vector<std::string>& warnings,
                         std::vector<std::string>& notes);

// The suffix of a script stored beside the customer's own script of the same name.
inline constexpr const char* kSieveMigratedSuffix = "-migrated";

}  // namespace migrate
