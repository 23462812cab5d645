#pragma once
// Migrates one user's mailbox from a source IMAP server into a Sink. Runs on the calling thread.

#include <functional>
#include <memory>
#include <string>

#include "engine/options.h"
#include "engine/report.h"
#include "engine/sink.h"
#include "engine/source_connection.h"

namespace migrate {

struct ProgressEvent {
  std::string folder;  // destination name
  uint32_t done = 0, total = 0;
  uint64_t bytes = 0;
  // Set (non-zero) on the event sent once the folder plan is known: how many folders this run
  // will copy. 0 on every other event.
  uint32_t foldersTotal = 0;
  // Set on the event sent once the messages to copy are listed (before the first is copied, and
  // again after a reconnect): what this run copies in all, counting what it copied before.
  bool totalsKnown = false;
  uint64_t totalMessages = 0, totalBytes = 0;
  std::string message;  // human-readable line
};
using ProgressFn = std::function<void(const ProgressEvent&)>;

// Runs the whole migration. Never throws; every failure is in report.status.
MigrationReport runMigration(const MigrationOptions& options, Sink& sink,
                             const ProgressFn& progress = nullptr, const TransportFactory& connect = nullptr);

}  // namespace migrate
