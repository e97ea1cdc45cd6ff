// Unit tests for cli/argument_reader: the spellings of options, options before, between and after
// the operands, "--", where a command begins (record, replay, mark), --help anywhere among the
// options, and the errors for the rest.
#include "cli/argument_reader.hpp"

#include <gtest/gtest.h>

namespace mmiotrace::cli {
namespace {

using Words = std::vector<std::string>;

// What a subcommand with the flag --json and the option -o/--output makes of `arguments`: the
// options it took, in order ("json", "o=VALUE"), its operands, and the command.
struct Parsed {
  Words options;
  Words operands;
  Words command;
};

Parsed parse(const Words& arguments, std::optional<size_t> operands_before_command = {}) {
  ArgumentReader reader("test", arguments, operands_before_command);
  Parsed parsed;
  while (reader.next_option()) {
    if (reader.take_flag("--json")) {
      parsed.options.push_back("json");
    } else if (auto value = reader.take_value("--output", "-o")) {
      parsed.options.push_back("o=" + *value);
    } else {
      reader.reject_option();
    }
  }
  parsed.operands = reader.operands();
  parsed.command = reader.rest();
  return parsed;
}

TEST(ArgumentReader, ValueOptionsInEverySpelling) {
  Parsed parsed = parse({"-o", "a", "-ob", "--output", "c", "--output=d", "rest"});
  EXPECT_EQ(parsed.options, (Words{"o=a", "o=b", "o=c", "o=d"}));
  EXPECT_EQ(parsed.operands, Words{"rest"});
}

TEST(ArgumentReader, OptionsMayComeAfterAndBetweenTheOperands) {
  Parsed parsed = parse({"in.txt", "out.bin", "--json", "-o", "x"});
  EXPECT_EQ(parsed.options, (Words{"json", "o=x"}));
  EXPECT_EQ(parsed.operands, (Words{"in.txt", "out.bin"}));

  parsed = parse({"a", "--json", "b"});
  EXPECT_EQ(parsed.options, Words{"json"});
  EXPECT_EQ(parsed.operands, (Words{"a", "b"}));
  EXPECT_TRUE(parsed.command.empty());
}

TEST(ArgumentReader, SeparatorEndsTheOptions) {
  Parsed parsed = parse({"--json", "--", "-o", "x", "--json"});
  EXPECT_EQ(parsed.options, Words{"json"});
  EXPECT_EQ(parsed.operands, (Words{"-o", "x", "--json"}));
}

TEST(ArgumentReader, LoneDashIsAnOperand) {
  Parsed parsed = parse({"-", "--json"});
  EXPECT_EQ(parsed.operands, Words{"-"});
  EXPECT_EQ(parsed.options, Words{"json"});
}

TEST(ArgumentReader, TheCommandTakesEverythingFromItsFirstWord) {
  // record: options, then COMMAND; COMMAND's own options are its own.
  Parsed parsed = parse({"-o", "t.txt", "./driver", "--json", "-o", "x"}, 0);
  EXPECT_EQ(parsed.options, Words{"o=t.txt"});
  EXPECT_TRUE(parsed.operands.empty());
  EXPECT_EQ(parsed.command, (Words{"./driver", "--json", "-o", "x"}));

  parsed = parse({"--json", "--", "-weird", "--", "x"}, 0);
  EXPECT_EQ(parsed.options, Words{"json"});
  EXPECT_EQ(parsed.command, (Words{"-weird", "--", "x"}));
}

TEST(ArgumentReader, ACommandAfterOneOperandLeavesOptionsAroundTheOperand) {
  // replay: TRACE, options before or after it, then COMMAND, with or without "--".
  Parsed parsed = parse({"--json", "trace.txt", "-o", "x", "./driver", "-o", "y"}, 1);
  EXPECT_EQ(parsed.options, (Words{"json", "o=x"}));
  EXPECT_EQ(parsed.operands, Words{"trace.txt"});
  EXPECT_EQ(parsed.command, (Words{"./driver", "-o", "y"}));

  parsed = parse({"trace.txt", "--", "./driver", "--json"}, 1);
  EXPECT_TRUE(parsed.options.empty());
  EXPECT_EQ(parsed.operands, Words{"trace.txt"});
  EXPECT_EQ(parsed.command, (Words{"./driver", "--json"}));

  parsed = parse({"trace.txt", "--json"}, 1);
  EXPECT_TRUE(parsed.command.empty());
}

TEST(ArgumentReader, HelpAnywhereAmongTheOptionsAsksForHelp) {
  EXPECT_THROW(parse({"in", "out", "--help"}), HelpRequested);
  EXPECT_THROW(parse({"-h", "in"}), HelpRequested);
  EXPECT_THROW(parse({"-o", "x", "--help", "./driver"}, 0), HelpRequested);
  // After "--", or as a command's own argument, it is not ours.
  EXPECT_EQ(parse({"--", "--help"}).operands, Words{"--help"});
  EXPECT_EQ(parse({"./driver", "--help"}, 0).command, (Words{"./driver", "--help"}));
}

TEST(ArgumentReader, MissingValueIsAUsageError) {
  try {
    parse({"in", "--output"});
    FAIL() << "no error";
  } catch (const CliError& error) {
    EXPECT_EQ(error.exit_status(), kExitUsage);
    EXPECT_STREQ(error.what(),
                 "test: option '--output' needs a value; see 'mmiotrace test --help'");
  }
}

TEST(ArgumentReader, UnknownOptionAfterTheOperandsIsNamed) {
  try {
    parse({"in", "out", "--frobnicate"});
    FAIL() << "no error";
  } catch (const CliError& error) {
    EXPECT_EQ(error.exit_status(), kExitUsage);
    EXPECT_STREQ(error.what(), "test: unknown option '--frobnicate'; see 'mmiotrace test --help'");
  }
}

}  // namespace
}  // namespace mmiotrace::cli
