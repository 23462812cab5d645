#pragma once
// Gmail shows each label as a folder and every message again in "[Gmail]/All Mail". With the
// gmail preset's gmail_labels, All Mail gives only the messages that no copied folder gives:
// a message is skipped there when it carries (X-GM-LABELS) the label of a folder that is copied.

#include <set>
#include <string>
#include <vector>

#include "engine/plan.h"

namespace migrate {

// The labels whose messages are copied from a folder of `copied`: user labels by the folder's
// name (raw and decoded), system labels ("\\inbox", "\\sent", ...) by the folder's special use.
// The \All folder itself gives none.
std::set<std::string> copiedLabels(const std::vector<const PlannedFolder*>& copied);

// Whether one of `labels` (as X-GM-LABELS sends them) is in `copied`; system labels compare
// case-insensitively.
bool hasCopiedLabel(const std::vector<std::string>& labels, const std::set<std::string>& copied);

}  // namespace migrate
