#pragma once
// Which destination folder a folder name in one of the old server's Sieve scripts stands for,
// by the folder plan the mail took (engine/plan.h), for sieve::rewriteScript():
//  - the name as the source's IMAP clients see it, decoded ("Entwürfe", "Lists/dev"), with or
//    without the personal namespace prefix ("INBOX.Work" and "Work" on Courier/Cyrus-style
//    servers); "INBOX" in any case;
//  - the name in modified UTF-7 ("Entw&APw-rfe"): old scripts hold it, and Pigeonhole would
//    deliver into a folder literally named so (remarked in the report);
//  - a folder that does not exist at the source but lies under one that does ("Lists.new" with
//    ":create"): the planned parent's destination, the rest with the destination's separator.

#include "engine/plan.h"
#include "sieve/script_rewrite.h"

namespace migrate {

sieve::FolderMapFn sieveFolderMap(const FolderPlan& plan);

}  // namespace migrate
