#include "engine/source_plan.h"

#include <algorithm>

namespace migrate {

SourcePlanner::SourcePlanner(SourceOptions& src) : src_(src) {
  Result<Preset> preset = applyPreset(src);
  if (preset.isOk()) {
    preset_ = preset.value();
  } else {
    presetError_ = preset.status();
  }
  src.applyDefaults();
  filter_ = src.filter;
  if (filter_.maxSize == 0) {
    filter_.maxSize = preset_.maxSize;
  }
  rules_.maxSize = filter_.maxSize;
  rules_.since = filter_.since;
  rules_.before = filter_.before;
}

Result<FolderPlan> SourcePlanner::plan(imap::Session& session, Sink& sink,
                                       std::vector<std::string>& warnings) {
  MIGRATE_ASSIGN_OR_RETURN(imap::NamespaceEntry ns, session.personalNamespace());
  MIGRATE_ASSIGN_OR_RETURN(std::vector<imap::ListEntry> entries, session.list());
  MIGRATE_ASSIGN_OR_RETURN(std::vector<std::string> subs, session.lsub());
  MIGRATE_ASSIGN_OR_RETURN(std::vector<DestFolder> dest, sink.listFolders());
  PlanInput pin;
  pin.entries = std::move(entries);
  pin.personal = ns;
  pin.subscribed.insert(subs.begin(), subs.end());
  pin.destSeparator = sink.separator();
  pin.destUnsafeChars = sink.unsafeNameChars();
  pin.destFolders = std::move(dest);
  if (src_.presetName.empty() && preset_.name.empty() && session.hasCapability("X-GM-EXT-1")) {
    // Without the gmail preset every message would come twice: from its label and from All Mail.
    preset_ = *builtinPreset("gmail");
    preset_.name.clear();
    if (!gmailWarned_) {
      gmailWarned_ = true;
      warnings.push_back(
          "the source is Gmail (X-GM-EXT-1): its folder rules apply (views left out, All Mail only for "
          "unlabelled mail); --preset generic copies every folder as it is");
    }
  }
  pin.folderRules = preset_.folderRules;
  FolderPlan plan = buildPlan(pin);
  warnings.insert(warnings.end(), plan.warnings.begin(), plan.warnings.end());
  return plan;
}

std::string SourcePlanner::exclusionReason(const PlannedFolder& f) const {
  auto matches = [&f](const std::string& pattern) {
    return folderPatternMatches(pattern, f.sourceName, f.delimiter, f.sourceSpecialUse, f.important);
  };
  if (!filter_.include.empty() && std::none_of(filter_.include.begin(), filter_.include.end(), matches)) {
    return "not in --include";
  }
  for (const std::string& p : filter_.exclude) {
    if (matches(p)) {
      return "--exclude " + p;
    }
  }
  if (std::any_of(preset_.exclude.begin(), preset_.exclude.end(), matches)) {
    return preset_.excludeReason;
  }
  return {};
}

bool SourcePlanner::dedupes(const imap::Session& session, const PlannedFolder& f) const {
  return preset_.gmailLabels && session.hasCapability("X-GM-EXT-1") &&
         (f.sourceSpecialUse & kSpecialAll) != 0;
}

SourceConnectionEnv runConnectionEnv(const MigrationOptions& options, const Preset& preset,
                                     const std::string& tempDir, const TransportFactory& connect) {
  SourceConnectionEnv env;
  env.localUser = options.localUser;
  env.tempDir = tempDir;
  env.maxBytesPerSecond = options.maxBytesPerSecond != 0 ? options.maxBytesPerSecond : preset.maxRate;
  env.maxConnectionsPerHost =
      options.maxConnectionsPerHost != 0 ? options.maxConnectionsPerHost : preset.maxConnections;
  env.cancelled = options.cancelled;
  env.connect = connect;
  return env;
}

}  // namespace migrate
