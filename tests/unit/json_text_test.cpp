// Unit tests for the one JSON string writer of every JSON output (analysis/json_text.hpp): escapes,
// and the rule for bytes that are not UTF-8.
#include "analysis/json_text.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace mmiotrace::analysis {
namespace {

constexpr char kReplacement[] = "\xef\xbf\xbd";  // U+FFFD

TEST(JsonText, QuotesBackslashesAndControlCharactersAreEscaped) {
  EXPECT_EQ(json_string("a\"b\\c\nd\te\x01\x7f"), "\"a\\\"b\\\\c\\nd\\te\\u0001\\u007f\"");
  EXPECT_EQ(nlohmann::json::parse(json_string("a\"b\\c\nd\x01")), "a\"b\\c\nd\x01");
}

TEST(JsonText, WellFormedUtf8IsKeptAsItIs) {
  std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  std::string out;
  EXPECT_TRUE(append_json_text(out, text));
  EXPECT_EQ(out, text);
}

TEST(JsonText, EachByteThatIsNotUtf8BecomesOneReplacementCharacter) {
  struct Case {
    std::string bytes;
    int replaced;
  };
  const Case cases[] = {
      {"\xff", 1},              // never in UTF-8
      {"\xc0\xaf", 2},          // overlong '/'
      {"\xed\xa0\x80", 3},      // a surrogate
      {"\xf4\x90\x80\x80", 4},  // above U+10FFFF
      {"\xe2\x82", 2},          // cut short
      {"\x80", 1},              // a lone continuation byte
  };
  for (const Case& c : cases) {
    std::string out;
    EXPECT_FALSE(append_json_text(out, "a" + c.bytes + "b"));
    std::string expected = "a";
    for (int i = 0; i < c.replaced; ++i)
      expected += kReplacement;
    EXPECT_EQ(out, expected + "b");
    // What every JSON parser accepts.
    EXPECT_EQ(nlohmann::json::parse(json_string("a" + c.bytes + "b")), expected + "b");
  }
}

TEST(JsonText, ALabelIsOneLineWithTheSameRuleAndABound) {
  std::string out;
  append_json_label(out, "x\"\n\xff", 100);
  EXPECT_EQ(out, std::string("x\\\" ") + kReplacement);
  out.clear();
  append_json_label(out, "abcdef", 3);
  EXPECT_EQ(out, "abc\xe2\x80\xa6");
  out.clear();
  append_json_label(out, "ab\xc3\xa9", 3);  // never half a character
  EXPECT_EQ(out, "ab\xe2\x80\xa6");
}

}  // namespace
}  // namespace mmiotrace::analysis
