#pragma once
// What a run takes from the source, decided once for a migration and for a verify
// (engine/verify.h) alike: the preset (named, or Gmail's when the server says X-GM-EXT-1), the
// message rules of the filters, the folder plan (engine/plan.h) and which planned folders the
// filters leave out and why. A verify that planned differently would call mail "missing" that the
// migration never meant to copy.

#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/options.h"
#include "engine/plan.h"
#include "engine/preset.h"
#include "engine/selection.h"
#include "engine/sink.h"
#include "engine/source_connection.h"
#include "imap/session.h"

namespace migrate {

class SourcePlanner {
 public:
  // Resolves the preset of `src` (engine/preset.h) and applies its defaults: `src` is changed.
  explicit SourcePlanner(SourceOptions& src);

  // An unknown preset or a bad admin preset setting (the run stops with it).
  const Status& presetError() const { return presetError_; }
  const Preset& preset() const { return preset_; }
  // The message rules of the filters (size, dates); dedupe is decided per folder (dedupes()).
  const MessageRules& rules() const { return rules_; }

  // Lists the source's folders (NAMESPACE, LIST, LSUB) and maps them onto the destination's.
  // A Gmail server without a preset gets the gmail preset's folder rules (warned once).
  Result<FolderPlan> plan(imap::Session& session, Sink& sink, std::vector<std::string>& warnings);
  // Why a planned folder is left out by --include / --exclude / the preset ("" : it is not).
  std::string exclusionReason(const PlannedFolder& f) const;
  // Whether the folder's messages that carry the label of a copied folder are skipped as
  // duplicates (Gmail's All Mail with the preset's gmail_labels).
  bool dedupes(const imap::Session& session, const PlannedFolder& f) const;

 private:
  const SourceOptions& src_;
  Preset preset_;
  Status presetError_;
  MessageFilter filter_;
  MessageRules rules_;
  bool gmailWarned_ = false;
};

// The connection settings of one user's run: the run's limits, else the preset's; its
// cancellation; `connect` (null: TCP). The caller adds note and warn.
SourceConnectionEnv runConnectionEnv(const MigrationOptions& options, const Preset& preset,
                                     const std::string& tempDir, const TransportFactory& connect);

}  // namespace migrate
