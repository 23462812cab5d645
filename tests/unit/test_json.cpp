#include "common/json.h"

#include <gtest/gtest.h>

#include <string>

namespace migrate::json {
namespace {

TEST(JsonQuote, EscapesControlsQuotesAndBackslashes) {
  EXPECT_EQ(quote("plain"), "\"plain\"");
  EXPECT_EQ(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quote("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
  EXPECT_EQ(quote(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\\u007f\"");
}

TEST(JsonQuote, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(quote("Přijaté \xF0\x9F\x93\xA7"), "\"Přijaté \xF0\x9F\x93\xA7\"");
  // A Latin-1 byte, a truncated sequence, an overlong '/', a UTF-16 surrogate: U+FFFD for each
  // broken sequence (nlohmann-json: Unicode's "maximal subpart" practice; a truncated sequence
  // is one).
  EXPECT_EQ(quote("a\xE9z"), "\"a\xEF\xBF\xBDz\"");
  EXPECT_EQ(quote("\xE2\x82"), "\"\xEF\xBF\xBD\"");
  EXPECT_EQ(quote("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(quote("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(JsonWriter, CompactNesting) {
  Writer w;
  w.beginObject();
  w.key("user").value("bob");
  w.key("copied").value(uint64_t{18446744073709551615u});
  w.key("delta").value(int64_t{-3});
  w.key("ok").value(true);
  w.key("none").null();
  w.key("list")
      .beginArray()
      .value(1)
      .value("two")
      .beginObject()
      .endObject()
      .beginArray()
      .endArray()
      .endArray();
  w.endObject();
  EXPECT_EQ(w.str(),
            "{\"user\":\"bob\",\"copied\":18446744073709551615,\"delta\":-3,\"ok\":true,\"none\":null,"
            "\"list\":[1,\"two\",{},[]]}");
}

TEST(JsonWriter, PrettyPrintsWithIndent) {
  Writer w(2);
  w.beginObject();
  w.key("a").value(1);
  w.key("b").beginArray().value("x").endArray();
  w.key("c").beginObject().endObject();
  w.endObject();
  EXPECT_EQ(w.str(), "{\n  \"a\": 1,\n  \"b\": [\n    \"x\"\n  ],\n  \"c\": {}\n}");
}

TEST(JsonWriter, DoublesAreShortAndNeverNaN) {
  Writer w;
  w.beginArray().value(1.5).value(2.0).value(0.1234).value(-0.0001).value(1.0 / 0.0).endArray();
  EXPECT_EQ(w.str(), "[1.5,2,0.123,0,null]");
}

TEST(JsonParse, DoveadmRow) {
  // What `doveadm -f json migrate` prints (NUMBER columns unquoted).
  Result<Value> r = parse(
      "[{\"username\":\"bob@example.org\",\"result\":\"failed\",\"folders\":0,\"copied\":12,"
      "\"bytes\":5362,\"seconds\":\"0.5\",\"skip_reasons\":\"too_large=3 date=2\",\"error\":\"login failed "
      "(check \\\"x\\\")\"}]\n");
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  const Value& v = r.value();
  ASSERT_TRUE(v.isArray());
  ASSERT_EQ(v.items().size(), 1u);
  const Value& row = v.items()[0];
  ASSERT_TRUE(row.isObject());
  EXPECT_EQ(row.get("username")->text(), "bob@example.org");
  EXPECT_EQ(row.get("copied")->asU64(), 12u);
  EXPECT_EQ(row.get("bytes")->asU64(), 5362u);
  EXPECT_DOUBLE_EQ(row.get("seconds")->asDouble(), 0.5);
  EXPECT_EQ(row.get("error")->text(), "login failed (check \"x\")");
  EXPECT_EQ(row.get("missing"), nullptr);
}

TEST(JsonParse, LiteralsNumbersAndEscapes) {
  Result<Value> r = parse(
      " {\"t\":true,\"f\":false,\"n\":null,\"x\":-1.5e3,\"big\":18446744073709551615,"
      "\"s\":\"\\u00e9\\ud83d\\udce7\\/\\b\"} ");
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  const Value& v = r.value();
  EXPECT_TRUE(v.get("t")->asBool());
  EXPECT_FALSE(v.get("f")->asBool());
  EXPECT_TRUE(v.get("n")->isNull());
  EXPECT_DOUBLE_EQ(v.get("x")->asDouble(), -1500.0);
  EXPECT_EQ(v.get("x")->asU64(7), 7u);  // not a whole non-negative number
  EXPECT_EQ(v.get("big")->asU64(), 18446744073709551615u);
  EXPECT_EQ(v.get("s")->text(), "\xC3\xA9\xF0\x9F\x93\xA7/\b");
}

TEST(JsonParse, RoundTripThroughTheWriter) {
  const std::string nasty = std::string("a\x01\"\\\n\xC3\xA9", 7);
  Writer w;
  w.beginObject().key(nasty).value(nasty).endObject();
  Result<Value> r = parse(w.str());
  ASSERT_TRUE(r.isOk()) << r.status().describe();
  ASSERT_EQ(r.value().members().size(), 1u);
  EXPECT_EQ(r.value().members()[0].first, nasty);
  EXPECT_EQ(r.value().members()[0].second.text(), nasty);
}

TEST(JsonParse, ErrorsNameTheByte) {
  const struct {
    const char* text;
    const char* error;
  } cases[] = {
      {"", "invalid JSON at byte 0: unexpected end of input"},
      {"[1,]", "invalid JSON at byte 3: unexpected ']'"},
      {"{\"a\" 1}", "invalid JSON at byte 5: unexpected '1'"},
      {"{\"a\":1", "invalid JSON at byte 6: unexpected end of input"},
      {"\"abc", "invalid JSON at byte 4: unexpected end of input"},
      {"\"a\nb\"", "invalid JSON at byte 2: unexpected byte 0x0a"},
      {"[1] x", "invalid JSON at byte 4: unexpected 'x'"},
      {"01", "invalid JSON at byte 1: unexpected '1'"},
      {"tru", "invalid JSON at byte 3: unexpected end of input"},
      {"\"\\x\"", "invalid JSON at byte 2: unexpected 'x'"},
  };
  for (const auto& c : cases) {
    Result<Value> r = parse(c.text);
    ASSERT_FALSE(r.isOk()) << c.text;
    EXPECT_EQ(r.status().message(), c.error) << c.text;
    EXPECT_EQ(r.status().kind(), ErrorKind::Protocol);
  }
}

TEST(JsonParse, DepthIsBounded) {
  std::string deep(kMaxDepth + 1, '[');
  deep += std::string(kMaxDepth + 1, ']');
  Result<Value> r = parse(deep);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("nested too deeply"), std::string::npos);
  std::string ok(kMaxDepth - 1, '[');
  ok += std::string(kMaxDepth - 1, ']');
  EXPECT_TRUE(parse(ok).isOk());
}

}  // namespace
}  // namespace migrate::json
