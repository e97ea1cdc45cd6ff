// The cost of a trapped access on AArch64, under qemu-user: arm64_trap_cost (cross-built)
// timed in each one-access class, on a page of its own whose SIGSEGV handler steps over each
// access (the bare signal round trip on the same emulator), and on a file that `mmiotrace record`
// traces (its binary trace into /dev/null), --runs times, each traced run between two bare ones.
// On this shared machine a qemu process runs, at random, either at its usual speed or about a
// quarter slower, bare or traced alike (docs/benchmarks.md): so each traced run is divided by the
// mean of the bare runs beside it, and the median of those ratios judges issue 21's target
// (emulation at most 1.2 times the bare round trip). Prints per class the medians of the runs,
// that median ratio, and the ratios' range.
// qemu's timings are those of a translated program on an x86-64 host: they say nothing about
// AArch64 hardware, where a signal costs far less than qemu's delivery of one.
//   arm64_trap_bench [--runs N] [--iterations N] [--smoke]
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/arm64_libraries.hpp"
#include "process_run.hpp"

namespace mmiotrace::bench {
namespace {

constexpr double kTarget = 1.2;

// Nanoseconds per access that the program printed ("CLASS NS"), or a negative number.
double run_cost(const std::vector<std::string>& argv, const std::string& directory) {
  ProcessSpec spec;
  spec.argv = argv;
  spec.directory = directory;
  spec.out_path = directory + "/out.txt";
  spec.err_path = directory + "/err.txt";
  spec.set_environment = {{"QEMU_CPU", "max,sve=off"}};
  ProcessResult result = run_process(spec);
  std::ifstream out(spec.out_path);
  std::string class_name;
  double cost = -1;
  if (!result.failed_to_start.empty() || !(out >> class_name >> cost)) {
    std::ifstream err(spec.err_path);
    std::stringstream text;
    text << err.rdbuf();
    std::fprintf(stderr, "arm64_trap_bench: %s: %s %s\n", argv[0].c_str(),
                 describe_wait_status(result.status).c_str(), text.str().c_str());
    return -1;
  }
  return cost;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace
}  // namespace mmiotrace::bench

int main(int argc, char** argv) {
  using namespace mmiotrace::bench;
  int runs = 7;
  long iterations = 20000;
  bool smoke = false;
  for (int i = 1; i < argc; ++i) {
    std::string option = argv[i];
    if (option == "--smoke") {
      smoke = true;
      runs = 1;
      iterations = 200;
    } else if (option == "--runs" && i + 1 < argc) {
      runs = std::max(1, atoi(argv[++i]));
    } else if (option == "--iterations" && i + 1 < argc) {
      iterations = std::max(10L, atol(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: arm64_trap_bench [--runs N] [--iterations N] [--smoke]\n");
      return 2;
    }
  }
  if (std::string(ARM64_TRAP_COST).empty() || access("/usr/bin/qemu-aarch64", X_OK) != 0) {
    std::printf(
        "arm64_trap_bench: skipped: no AArch64 cross compiler or no qemu-aarch64 "
        "(scripts/setup installs them)\n");
    return 0;
  }
  char directory_template[] = "/tmp/arm64_trap_bench.XXXXXX";
  const std::string directory = mkdtemp(directory_template);
  const std::string registers = directory + "/registers";
  { std::ofstream(registers) << std::string(4096, '\0'); }
  const std::string count = std::to_string(iterations);
  std::printf(
      "Trapped accesses of an AArch64 program under qemu-aarch64, %ld each, %d traced runs, "
      "each\nbetween two bare ones (qemu's timings say nothing about AArch64 hardware)\n\n",
      iterations, runs);
  std::printf("%-8s %12s %12s %7s   %s\n", "class", "bare ns", "traced ns", "ratio",
              "(range of the runs' ratios)");
  bool met = true;
  for (const char* access_class : {"load", "store", "pair", "atomic", "vector"}) {
    // The loader and libraries record gives the traced run.
    std::vector<std::string> bare_command = {"/usr/bin/qemu-aarch64"};
    if (const std::string root = mmiotrace::cli::arm64_library_root(); !root.empty()) {
      bare_command.insert(bare_command.end(), {"-L", root});
    }
    bare_command.insert(bare_command.end(), {ARM64_TRAP_COST, "bare", access_class, count});
    std::vector<double> bare = {run_cost(bare_command, directory)}, traced, ratios;
    for (int run = 0; run < runs; ++run) {
      traced.push_back(
          run_cost({MMIOTRACE_COMMAND, "record", "--format", "binary", "-o", "/dev/null", "-t",
                    registers, "--", ARM64_TRAP_COST, "traced", access_class, count, registers},
                   directory));
      bare.push_back(run_cost(bare_command, directory));
      const double before = bare[bare.size() - 2], after = bare.back();
      if (before <= 0 || after <= 0 || traced.back() <= 0) return 1;
      ratios.push_back(traced.back() / ((before + after) / 2));
    }
    const double ratio = median(ratios);
    met = met && ratio <= kTarget;
    std::printf("%-8s %12.0f %12.0f %7.2f   (%.2f-%.2f)\n", access_class, median(bare),
                median(traced), ratio, *std::min_element(ratios.begin(), ratios.end()),
                *std::max_element(ratios.begin(), ratios.end()));
  }
  std::string remove = "rm -rf '" + directory + "'";
  if (std::system(remove.c_str()) != 0) return 1;
  if (smoke) return 0;
  std::printf("\ntarget: emulation <= %.1fx the bare round trip in every class: %s\n", kTarget,
              met ? "MET" : "NOT MET");
  return 0;
}
