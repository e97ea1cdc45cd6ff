// Unit tests for cli/argument_reader: the spellings of options and the errors for the rest.
#include "cli/argument_reader.hpp"

#include <gtest/gtest.h>

namespace mmiotrace::cli {
namespace {

TEST(ArgumentReader, ValueOptionsInEverySpelling) {
  std::vector<std::string> arguments = {"-o", "a", "-ob", "--output", "c", "--output=d", "rest"};
  ArgumentReader reader("record", arguments);
  std::vector<std::string> values;
  while (reader.at_option()) {
    auto value = reader.take_value("--output", "-o");
    ASSERT_TRUE(value);
    values.push_back(*value);
  }
  EXPECT_EQ(values, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(reader.rest(), std::vector<std::string>{"rest"});
}

TEST(ArgumentReader, SeparatorEndsTheOptions) {
  std::vector<std::string> arguments = {"--", "-o", "x"};
  ArgumentReader reader("record", arguments);
  EXPECT_FALSE(reader.at_option());
  EXPECT_TRUE(reader.take_separator());
  EXPECT_EQ(reader.rest(), (std::vector<std::string>{"-o", "x"}));
}

TEST(ArgumentReader, MissingValueIsAUsageError) {
  std::vector<std::string> arguments = {"--output"};
  ArgumentReader reader("record", arguments);
  try {
    reader.take_value("--output", "-o");
    FAIL() << "no error";
  } catch (const CliError& error) {
    EXPECT_EQ(error.exit_status(), kExitUsage);
    EXPECT_STREQ(error.what(),
                 "record: option '--output' needs a value; see 'mmiotrace record --help'");
  }
}

TEST(ArgumentReader, UnknownOptionIsAUsageError) {
  std::vector<std::string> arguments = {"--frobnicate"};
  ArgumentReader reader("record", arguments);
  ASSERT_TRUE(reader.at_option());
  EXPECT_FALSE(reader.take_value("--output", "-o"));
  EXPECT_FALSE(reader.take_flag("--drop"));
  try {
    reader.reject_option();
    FAIL() << "no error";
  } catch (const CliError& error) {
    EXPECT_EQ(error.exit_status(), kExitUsage);
    EXPECT_STREQ(error.what(),
                 "record: unknown option '--frobnicate'; see 'mmiotrace record --help'");
  }
}

TEST(ArgumentReader, LoneDashIsAnOperand) {
  std::vector<std::string> arguments = {"-"};
  ArgumentReader reader("record", arguments);
  EXPECT_FALSE(reader.at_option());
}

}  // namespace
}  // namespace mmiotrace::cli
