#pragma once
// The lib-storage implementation of migrate::Sink for one mail_user. Main thread only.
// Include dovecot_cxx.h before this header.

#include <memory>
#include <string>

#include "engine/sink.h"

struct mail_user;

namespace migrate::dovecot {

// The sink does not own `user`; it must outlive the sink.
std::unique_ptr<Sink> makeDovecotSink(struct mail_user* user);

// Maps a lib-storage error (enum mail_error) to our ErrorKind: NOQUOTA -> Quota, NOTFOUND ->
// NotFound, everything else -> LocalStorage.
ErrorKind errorKindFromMailError(int mailError);

}  // namespace migrate::dovecot
