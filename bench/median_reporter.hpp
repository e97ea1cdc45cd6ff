// A console reporter that also keeps, for each benchmark, the median time per iteration and
// the median of each counter, so that a benchmark's main() can print ratios between
// measurements of the same run (docs/benchmarks.md).
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

namespace mmiotrace::bench {

class MedianReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      std::string name = run.run_name.str();
      if (run.run_type == Run::RT_Aggregate) name = name.substr(0, name.rfind("_median"));
      times_[name] = run.GetAdjustedRealTime();
      for (const auto& [counter, value] : run.counters)
        counters_[name][counter] = value.value;
    }
  }
  // Nanoseconds per iteration (the benchmark's time unit must be nanoseconds), or 0.
  double time(const std::string& name) const {
    auto found = times_.find(name);
    return found == times_.end() ? 0 : found->second;
  }
  double counter(const std::string& name, const std::string& counter) const {
    auto found = counters_.find(name);
    if (found == counters_.end()) return 0;
    auto value = found->second.find(counter);
    return value == found->second.end() ? 0 : value->second;
  }

 private:
  std::map<std::string, double> times_;
  std::map<std::string, std::map<std::string, double>> counters_;
};

// "met" or "NOT MET".
inline const char* verdict(bool met) {
  return met ? "met" : "NOT MET";
}

}  // namespace mmiotrace::bench
