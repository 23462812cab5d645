#pragma once
// RAII owners for Dovecot handles, so that every error path (early return or exception) frees
// what it allocated.
//
// Dovecot destroyers take `T **` and set the pointer to NULL. Some Dovecot calls also consume a
// handle on failure (mailbox_save_begin() frees the save context, mailbox_transaction_commit()
// always frees the transaction): pass `handle.ptr()` to those so the owner sees the NULL.

#include <utility>

#include "dovecot_adapter/dovecot_api.h"

namespace migrate::dovecot {

template <class T, void (*Destroy)(T**)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(T* p) : p_(p) {}
  ~Handle() { reset(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }

  T* get() const { return p_; }
  // For Dovecot calls that take `T **` and may free the object and NULL the pointer.
  T** ptr() { return &p_; }
  T* release() { return std::exchange(p_, nullptr); }
  void reset(T* p = nullptr) {
    if (p_ != nullptr) {
      Destroy(&p_);
    }
    p_ = p;
  }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
};

namespace detail {
inline void searchDeinitIgnoringErrors(struct mail_search_context** ctx) {
  (void)mailbox_search_deinit(ctx);
}
inline void listIterDeinitIgnoringErrors(struct mailbox_list_iterate_context** ctx) {
  (void)mailbox_list_iter_deinit(ctx);
}
}  // namespace detail

using MailboxHandle = Handle<struct mailbox, mailbox_free>;
// Rolled back unless committed through ptr() (commit frees it whatever the outcome).
using TransactionHandle = Handle<struct mailbox_transaction_context, mailbox_transaction_rollback>;
// Cancelled unless mailbox_save_begin() failed (it frees the context) or mailbox_save_finish()
// consumed it (through ptr()).
using SaveHandle = Handle<struct mail_save_context, mailbox_save_cancel>;
using MailHandle = Handle<struct mail, mail_free>;
using IStreamHandle = Handle<struct istream, i_stream_unref>;
using KeywordsHandle = Handle<struct mail_keywords, mailbox_keywords_unref>;
using HeaderLookupHandle = Handle<struct mailbox_header_lookup_ctx, mailbox_header_lookup_unref>;
using SearchArgsHandle = Handle<struct mail_search_args, mail_search_args_unref>;
// The normal path calls mailbox_search_deinit(ptr()) itself to see its result.
using SearchHandle = Handle<struct mail_search_context, detail::searchDeinitIgnoringErrors>;
using ListIterHandle = Handle<struct mailbox_list_iterate_context, detail::listIterDeinitIgnoringErrors>;

// A data-stack frame for the lifetime of a C++ scope: the T_BEGIN/T_END of code with early returns
// and exceptions. Everything t_-allocated inside is freed when the scope ends, so copy t_ strings
// into std::string before returning them. Declare it before the handles of the same scope (it
// must be popped last).
class DataStackFrame {
 public:
  DataStackFrame() : id_(t_push("migrate")) {}
  ~DataStackFrame() {
    if (!t_pop(&id_)) {
      i_panic("migrate: leaked t_pop() call");
    }
  }
  DataStackFrame(const DataStackFrame&) = delete;
  DataStackFrame& operator=(const DataStackFrame&) = delete;

 private:
  data_stack_frame_t id_;
};

}  // namespace migrate::dovecot
