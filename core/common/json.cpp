#include "common/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <nlohmann/json.hpp>

namespace migrate::json {
namespace {

using Json = nlohmann::ordered_json;

// nlohmann's text, with U+FFFD for invalid UTF-8, and control characters escaped as before:
// \b, \f and DEL as \u0008, \u000c, \u007f.
std::string dump(const Json& j, int indent) {
  const std::string s = j.dump(indent > 0 ? indent : -1, ' ', false, Json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size());
  size_t from = 0;
  for (size_t i = s.find_first_of("\\\x7f"); i != std::string::npos; i = s.find_first_of("\\\x7f", from)) {
    out.append(s, from, i - from);
    const char e = s[i] == '\\' && i + 1 < s.size() ? s[i + 1] : '\0';
    out += s[i] == '\x7f' ? "\\u007f" : e == 'b' ? "\\u0008" : e == 'f' ? "\\u000c" : s.substr(i, 2);
    from = i + (s[i] == '\x7f' ? 1 : 2);
  }
  out.append(s, from);
  return out;
}

}  // namespace

std::string quote(std::string_view s) {
  return dump(Json(std::string(s)), 0);
}

// --- Writer ---------------------------------------------------------------------------------

Writer::Writer(int indent) : indent_(indent), root_(std::make_unique<Json>()) {}
Writer::~Writer() = default;

Writer& Writer::add(Json v, bool open) {
  Json* slot = root_.get();
  if (!open_.empty() && open_.back()->is_object()) {
    // Appended as given, so that a repeated key is written twice as before.
    slot = &open_.back()->get_ref<Json::object_t&>().emplace_back(key_, std::move(v)).second;
  } else if (!open_.empty()) {
    slot = &open_.back()->get_ref<Json::array_t&>().emplace_back(std::move(v));
  } else {
    *slot = std::move(v);
  }
  if (open) {
    open_.push_back(slot);
  }
  return *this;
}

Writer& Writer::beginObject() {
  return add(Json::object(), true);
}
Writer& Writer::beginArray() {
  return add(Json::array(), true);
}
Writer& Writer::endObject() {
  if (!open_.empty()) {
    open_.pop_back();
  }
  return *this;
}
Writer& Writer::endArray() {
  return endObject();
}
Writer& Writer::key(std::string_view name) {
  key_ = name;
  return *this;
}
Writer& Writer::value(std::string_view s) {
  return add(std::string(s), false);
}
Writer& Writer::value(bool b) {
  return add(b, false);
}
Writer& Writer::value(int64_t n) {
  return add(n, false);
}
Writer& Writer::value(uint64_t n) {
  return add(n, false);
}
Writer& Writer::null() {
  return add(nullptr, false);
}

Writer& Writer::value(double d) {
  if (!std::isfinite(d)) {
    return null();
  }
  // Three decimals, and none when whole: "1.5", "2", "0.123" (-0.0001 is "0").
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", d);
  const double rounded = std::strtod(buf, nullptr);
  if (rounded == std::trunc(rounded) && std::fabs(rounded) < 9e18) {
    return add(static_cast<int64_t>(rounded), false);
  }
  return add(rounded, false);
}

const std::string& Writer::str() const {
  out_ = dump(*root_, indent_);
  return out_;
}

// --- Value ----------------------------------------------------------------------------------

const Value* Value::get(std::string_view name) const {
  for (const auto& [k, v] : members_) {
    if (k == name) {
      return &v;
    }
  }
  return nullptr;
}

double Value::asDouble(double fallback) const {
  if ((type_ != Type::Number && type_ != Type::String) || text_.empty()) {
    return fallback;
  }
  char* end = nullptr;
  const double d = std::strtod(text_.c_str(), &end);
  if (end == nullptr || *end != '\0' || !std::isfinite(d)) {
    return fallback;
  }
  return d;
}

uint64_t Value::asU64(uint64_t fallback) const {
  if ((type_ != Type::Number && type_ != Type::String) || text_.empty() || text_.size() > 20) {
    return fallback;
  }
  uint64_t v = 0;
  for (char c : text_) {
    if (c < '0' || c > '9') {
      return fallback;
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) {
      return fallback;
    }
    v = v * 10 + digit;
  }
  return v;
}

// --- parse ----------------------------------------------------------------------------------

namespace {

// The input as nlohmann reads it, noting the last byte it read (a depth error names that byte).
struct Cursor {
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  reference operator*() const {
    *read = p;
    return *p;
  }
  Cursor& operator++() {
    ++p;
    return *this;
  }
  bool operator==(const Cursor& o) const { return p == o.p; }
  bool operator!=(const Cursor& o) const { return p != o.p; }

  const char* p;
  const char** read;
};

}  // namespace

// Builds a Value from nlohmann's SAX events, keeping each number's text.
class Builder : public nlohmann::json_sax<Json> {
 public:
  explicit Builder(std::string_view text) : text_(text), read_(text.data()) {}

  Result<Value> run() {
    const char* end = text_.data() + text_.size();
    if (!Json::sax_parse(Cursor{text_.data(), &read_}, Cursor{end, &read_}, this)) {
      return Status(ErrorKind::Protocol, error_);
    }
    return std::move(root_);
  }

  bool null() override { return add(Value::Type::Null, "") != nullptr; }
  bool boolean(bool b) override {
    Value* v = add(Value::Type::Bool, "");
    if (v != nullptr) {
      v->bool_ = b;
    }
    return v != nullptr;
  }
  // Integers as written ("-0" is the only JSON text that reads as a signed 0).
  bool number_integer(number_integer_t n) override {
    return add(Value::Type::Number, n == 0 ? "-0" : std::to_string(n)) != nullptr;
  }
  bool number_unsigned(number_unsigned_t n) override {
    return add(Value::Type::Number, std::to_string(n)) != nullptr;
  }
  bool number_float(number_float_t /*d*/, const string_t& text) override {
    return add(Value::Type::Number, text) != nullptr;
  }
  bool string(string_t& s) override { return add(Value::Type::String, std::move(s)) != nullptr; }
  bool binary(binary_t& /*b*/) override { return true; }  // not in JSON text
  bool key(string_t& name) override {
    key_ = std::move(name);
    return true;
  }
  bool start_object(std::size_t /*n*/) override { return open(Value::Type::Object); }
  bool start_array(std::size_t /*n*/) override { return open(Value::Type::Array); }
  bool end_object() override {
    open_.pop_back();
    return true;
  }
  bool end_array() override { return end_object(); }

  // "invalid JSON at byte 3: unexpected ']'": the byte nlohmann stopped at and what stands there.
  // Not nlohmann's own words: they differ between its releases (Debian 12 and 13).
  bool parse_error(std::size_t position, const std::string& /*lastToken*/,
                   const nlohmann::detail::exception& /*ex*/) override {
    const size_t byte = std::min(position > 0 ? position - 1 : 0, text_.size());
    error_ = "invalid JSON at byte " + std::to_string(byte) + ": " + unexpectedAt(byte);
    return false;
  }

 private:
  std::string unexpectedAt(size_t byte) const {
    if (byte >= text_.size()) {
      return "unexpected end of input";
    }
    const auto c = static_cast<unsigned char>(text_[byte]);
    if (c < 0x20 || c >= 0x7f) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "unexpected byte 0x%02x", c);
      return buf;
    }
    return std::string("unexpected '") + static_cast<char>(c) + "'";
  }

  // The new value in its place (nullptr when nested too deeply).
  Value* add(Value::Type type, std::string text) {
    if (open_.size() >= kMaxDepth) {
      error_ = "invalid JSON at byte " + std::to_string(read_ - text_.data()) + ": nested too deeply";
      return nullptr;
    }
    Value v;
    v.type_ = type;
    v.text_ = std::move(text);
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Value& parent = *open_.back();
    if (parent.type_ == Value::Type::Object) {
      return &parent.members_.emplace_back(std::move(key_), std::move(v)).second;
    }
    return &parent.items_.emplace_back(std::move(v));
  }
  bool open(Value::Type type) {
    Value* v = add(type, "");
    if (v != nullptr) {
      open_.push_back(v);
    }
    return v != nullptr;
  }

  std::string_view text_;
  const char* read_;
  Value root_;
  std::vector<Value*> open_;
  std::string key_;
  std::string error_;
};

Result<Value> parse(std::string_view text) {
  return Builder(text).run();
}

}  // namespace migrate::json
