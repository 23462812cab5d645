#pragma once
// The batch report (report.json) is written with the Writer, and the rows a child
// `doveadm -f json migrate` prints are read with parse(): a small API over nlohmann-json.
// Dovecot-free.
//
// Writer: strings are UTF-8; a byte sequence that is not valid UTF-8 is written as U+FFFD, so the
// output is always valid JSON. Control characters are escaped. Numbers are integers or doubles
// rounded to 3 decimals (NaN/inf are written as null).
// Reader: RFC 8259 values; nesting depth is bounded (kMaxDepth; the size is bounded by the caller:
// a child's stdout is kept up to 16 MiB); numbers keep their text as well as a double, so 64-bit
// counters read back exactly (asU64()).

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace migrate::json {

// `s` as a JSON string literal, with the quotes.
std::string quote(std::string_view s);

class Writer {
 public:
  // indent > 0: pretty-printed with that many spaces per level; 0: one line.
  explicit Writer(int indent = 0);
  ~Writer();

  Writer& beginObject();
  Writer& endObject();
  Writer& beginArray();
  Writer& endArray();
  // The key of the next value (inside an object only).
  Writer& key(std::string_view name);
  Writer& value(std::string_view s);
  Writer& value(const char* s) { return value(std::string_view(s)); }
  Writer& value(const std::string& s) { return value(std::string_view(s)); }
  Writer& value(bool b);
  Writer& value(int64_t n);
  Writer& value(uint64_t n);
  Writer& value(int n) { return value(static_cast<int64_t>(n)); }
  Writer& value(unsigned n) { return value(static_cast<uint64_t>(n)); }
  Writer& value(double d);
  Writer& null();

  // The text (once every begin has its end).
  const std::string& str() const;

 private:
  Writer& add(nlohmann::ordered_json v, bool open);

  int indent_;
  std::unique_ptr<nlohmann::ordered_json> root_;
  std::vector<nlohmann::ordered_json*> open_;  // the containers not ended yet, innermost last
  std::string key_;
  mutable std::string out_;
};

class Value {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Type type() const { return type_; }
  bool isNull() const { return type_ == Type::Null; }
  bool isObject() const { return type_ == Type::Object; }
  bool isArray() const { return type_ == Type::Array; }
  bool isString() const { return type_ == Type::String; }
  bool isNumber() const { return type_ == Type::Number; }

  // Objects: the member `name` (the first one if repeated), or nullptr.
  const Value* get(std::string_view name) const;
  const std::vector<std::pair<std::string, Value>>& members() const { return members_; }
  const std::vector<Value>& items() const { return items_; }

  bool asBool() const { return type_ == Type::Bool && bool_; }
  // Strings: the text; numbers: their text as written; others: "".
  const std::string& text() const { return text_; }
  // Numbers, and strings holding a number (doveadm prints some numeric columns as strings):
  // the value; otherwise (or negative, fractional, out of range for asU64) `fallback`.
  double asDouble(double fallback = 0) const;
  uint64_t asU64(uint64_t fallback = 0) const;

 private:
  friend class Builder;
  Type type_ = Type::Null;
  bool bool_ = false;
  std::string text_;
  std::vector<Value> items_;
  std::vector<std::pair<std::string, Value>> members_;
};

inline constexpr size_t kMaxDepth = 64;

// One JSON value (surrounding whitespace allowed). Errors are Protocol Statuses naming the byte
// offset: "invalid JSON at byte 17: expected ':'".
Result<Value> parse(std::string_view text);

}  // namespace migrate::json
