// What a trace says, per mapping and register: `mmiotrace report`. One pass over the events,
// keeping a summary per register offset (bounded: a few distinct values and PCs each), per
// thread, and the totals; memory grows with the registers a trace touches, never with its
// length. Normal context.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "analysis/register_map_set.hpp"
#include "analysis/symbolizer.hpp"
#include "mmiotrace/device.h"
#include "trace/event.hpp"

namespace mmiotrace::analysis {

inline constexpr size_t kMaxValuesKept = 8;  // distinct values listed per register
inline constexpr size_t kMaxPcsKept = 8;     // instructions listed per register

struct RegisterSummary {
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint8_t widths = 0;               // bit n set: an access of 1 << n bytes
  std::vector<std::string> values;  // the first distinct ones, in hex
  uint64_t distinct_values = 0;     // counted exactly up to kMaxValuesKept, then "more"
  bool more_values = false;
  uint64_t first_ns = UINT64_MAX;
  uint64_t last_ns = 0;
  std::vector<std::pair<std::pair<int, uint64_t>, uint64_t>> pcs;  // (pid, pc), accesses
  bool more_pcs = false;
};

struct MappingSummary {
  int map_id = 0;
  int capture = 0;  // 0, then 1, 2... for captures appended to the file (each its own map ids)
  uint64_t phys = 0;
  uint64_t virt = 0;
  uint64_t length = 0;
  int pid = 0;
  bool mapped = false;    // its MAP is in the trace
  bool unmapped = false;  // and its UNMAP
  std::string device;     // MODEL[:ARGS]@PATH when it is a virtual device's
  // The registers that name its offsets: --model's choice, else the built-in model its device
  // marker names; null for none.
  const mmiotrace_register* model_registers = nullptr;
  uint64_t accesses = 0;
  std::map<uint64_t, RegisterSummary> registers;  // by offset from phys
};

struct ThreadSummary {
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t unknown = 0;
};

struct Report {
  uint64_t events = 0;
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t unknown = 0;  // accesses whose value is not in the trace
  uint64_t lost = 0;     // events a full ring dropped (recorded with --drop)
  uint64_t marks = 0;    // the program's and the user's, not mmiotrace's bookkeeping (markers.hpp)
  uint64_t ioctls = 0;
  uint64_t pci_config_accesses = 0;  // reads and writes of a virtual PCI function's config space
  uint64_t vfio_requests = 0;        // what programs asked of the emulated VFIO (vfio markers)
  uint64_t outside = 0;              // accesses of no mapping the trace opened
  uint64_t first_ns = UINT64_MAX;
  uint64_t last_ns = 0;
  std::map<std::pair<int, int>, MappingSummary> mappings;  // by (capture, map id)
  int captures = 1;
  std::map<std::pair<int, int>, ThreadSummary> threads;  // (pid, tid)
  std::map<int, std::string> architectures;  // by pid, from the trace's architecture markers
};

class ReportBuilder {
 public:
  // `chosen`: the register maps of the models --model named, by map id; they win over the
  // trace's device markers.
  explicit ReportBuilder(std::map<int, const mmiotrace_register*> chosen = {})
      : chosen_(std::move(chosen)) {}
  void add(const trace::Event& event);
  const Report& report() const { return report_; }
  Symbolizer& symbolizer() { return symbolizer_; }
  // The plugins the trace's device markers named, by map id, which were not loaded (a trace
  // never makes mmiotrace load code): their mappings' offsets are named by number.
  const std::map<int, std::string>& unloaded_plugins() const { return unloaded_plugins_; }

 private:
  Report report_;
  Symbolizer symbolizer_;
  std::map<int, const mmiotrace_register*> chosen_;
  std::map<int, std::string> unloaded_plugins_;
};

// The report for people: totals (UNKNOWN and LOST loudly), then each mapping's registers, then
// the threads. Register names come from `register_maps` (--regs; null for none; its maps are
// placed at the mappings' addresses), else from the mapping's model_registers.
void write_report_text(const Report& report, Symbolizer& symbolizer, const std::string& trace,
                       FILE* out, RegisterMapSet* register_maps = nullptr);
// The same, as one JSON object (docs/analysis.md), for scripts.
void write_report_json(const Report& report, Symbolizer& symbolizer, const std::string& trace,
                       FILE* out, RegisterMapSet* register_maps = nullptr);

}  // namespace mmiotrace::analysis
