// `mmiotrace diff`: aligns two traces of the same driver and shows where they differ, like
// diff(1): exit status 0 when they match, 1 when they differ, 2 on trouble.
// (Declared in subcommands.hpp, with the other subcommands.)
#include <cinttypes>
#include <cstdio>
#include <string>

#include "analysis/json_text.hpp"
#include "analysis/progress.hpp"
#include "analysis/trace_diff.hpp"
#include "cli/argument_reader.hpp"
#include "cli/cli_error.hpp"
#include "cli/subcommands.hpp"
#include "cli/trace_input.hpp"
#include "trace/trace_reader.hpp"

namespace mmiotrace::cli {

namespace {

constexpr int kDiffer = 1;
constexpr int kTrouble = 2;

std::string json_items(const std::vector<analysis::DiffItem>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i ? "," : "") + std::string("{\"event\":") + analysis::json_string(items[i].text) +
           ",\"position\":" + analysis::json_string(items[i].position) + "}";
  }
  return out + "]";
}

int diff(const std::string& a_path, const std::string& b_path, bool json, size_t window,
         bool squash, bool strict) {
  auto a = trace::TraceReader::open(a_path, trace_read_options("diff", strict));
  auto b = trace::TraceReader::open(b_path, trace_read_options("diff", strict));
  const trace::TraceReader& a_reader = *a;
  analysis::Progress progress("comparing " + a_path, a_reader.file_size());
  analysis::TraceDiff differ(std::move(a), std::move(b), window, 4, squash);
  analysis::DiffHunk hunk;
  uint64_t hunks = 0;
  uint64_t only_a = 0;
  uint64_t only_b = 0;
  if (!json) printf("--- %s\n+++ %s\n", a_path.c_str(), b_path.c_str());
  while (differ.next_hunk(hunk)) {
    progress.update(a_reader.bytes_read());
    ++hunks;
    only_a += hunk.only_in_a.size();
    only_b += hunk.only_in_b.size();
    if (json) {
      printf("{\"difference\":%" PRIu64
             ",\"a_position\":%s,\"b_position\":%s,\"only_in_a\":%s,"
             "\"only_in_b\":%s}\n",
             hunks, analysis::json_string(hunk.a_position).c_str(),
             analysis::json_string(hunk.b_position).c_str(), json_items(hunk.only_in_a).c_str(),
             json_items(hunk.only_in_b).c_str());
      continue;
    }
    printf("@@ %s %s, %s %s @@%s\n", a_path.c_str(), hunk.a_position.c_str(), b_path.c_str(),
           hunk.b_position.c_str(), hunks == 1 ? " the first difference" : "");
    for (const analysis::DiffItem& item : hunk.only_in_a) {
      printf("-%s    (%s)\n", item.text.c_str(), item.position.c_str());
    }
    for (const analysis::DiffItem& item : hunk.only_in_b) {
      printf("+%s    (%s)\n", item.text.c_str(), item.position.c_str());
    }
  }
  if (json) {
    printf("{\"same\":%s,\"differences\":%" PRIu64 ",\"only_in_a\":%" PRIu64
           ",\"only_in_b\":%" PRIu64 ",\"matched\":%" PRIu64 "}\n",
           hunks == 0 ? "true" : "false", hunks, only_a, only_b, differ.matched());
  } else if (hunks == 0) {
    printf("the traces match: %" PRIu64 " events\n", differ.matched());
  } else {
    printf("%" PRIu64 " differences: %" PRIu64 " events only in %s, %" PRIu64
           " only in %s; %" PRIu64 " in both\n",
           hunks, only_a, a_path.c_str(), only_b, b_path.c_str(), differ.matched());
  }
  fflush(stdout);
  return hunks == 0 ? 0 : kDiffer;
}

}  // namespace

int run_diff(const Arguments& arguments) {
  // diff(1)'s convention: any trouble is 2.
  try {
    ArgumentReader reader("diff", arguments);
    bool json = false;
    bool squash = false;
    bool strict = false;
    size_t window = 2000;
    while (reader.next_option()) {
      if (reader.take_flag("--json")) {
        json = true;
      } else if (reader.take_flag("--squash-polls")) {
        squash = true;
      } else if (reader.take_flag("--strict")) {
        strict = true;
      } else if (auto value = reader.take_value("--window")) {
        char* end = nullptr;
        unsigned long number = strtoul(value->c_str(), &end, 10);
        if (value->empty() || *end != '\0' || number == 0 || number > 1000000) {
          throw CliError(kTrouble, "diff: --window '" + *value +
                                       "' is not a number of events "
                                       "from 1 to 1000000");
        }
        window = number;
      } else {
        reader.reject_option();
      }
    }
    const std::vector<std::string>& files = reader.operands();
    if (files.size() != 2) {
      throw CliError(kTrouble, "diff: two traces to compare; usage: mmiotrace diff A B");
    }
    return diff(files[0], files[1], json, window, squash, strict);
  } catch (const trace::TraceReadError& error) {
    throw CliError(kTrouble, std::string("diff: ") + error.what());
  } catch (const CliError& error) {
    if (error.exit_status() == kTrouble) throw;
    throw CliError(kTrouble, error.what());
  }
}

}  // namespace mmiotrace::cli
