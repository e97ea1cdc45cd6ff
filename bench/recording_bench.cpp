// The recording pipeline's speed: how long a producer takes to put one event into its ring, and
// how many events per second reach a binary or a text trace file from two producer threads
// while the writer drains. Targets: under 50 ns per event; 20 million events/s into a binary
// file; 5 million events/s into a text file. Run: build/bin/recording_bench
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "recorder/ring_sink.hpp"
#include "trace/trace_buffer.hpp"
#include "trace/trace_drainer.hpp"
#include "trace/trace_writer.hpp"

using namespace mmiotrace::trace;
namespace recorder = mmiotrace::recorder;

namespace {

constexpr uint32_t kRings = 16;
constexpr uint64_t kRingBytes = 4 << 20;

struct Buffer {
  Buffer() {
    size = TraceBuffer::bytes_for(kRings, kRingBytes);
    memory = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    buffer = TraceBuffer::format(memory, kRings, kRingBytes);
    buffer.control().writer_pid.store(getpid());
  }
  ~Buffer() { munmap(memory, size); }
  void* memory;
  size_t size;
  TraceBuffer buffer;
};

Event access_event(uint64_t number) {
  Event event;
  event.kind = EventKind::Write;
  event.width = 4;
  event.map_id = 1;
  event.pid = recorder::current_pid();
  event.tid = recorder::current_tid();
  event.time_ns = number;
  event.phys = 0x1000 + (number & 0xfff);
  event.virt = 0x7f0000001000 + (number & 0xfff);
  event.pc = 0x401234;
  std::memcpy(event.value, &number, 4);
  return event;
}

// A writer thread that drains `buffer` into `writer` until told to stop, then drains the rest.
class DrainThread {
 public:
  DrainThread(TraceBuffer buffer, TraceWriter& writer)
      : thread_([this, buffer, &writer] {
          TraceDrainer drainer(buffer);
          while (!stop_.load()) {
            if (drainer.drain(writer) == 0)
              std::this_thread::sleep_for(std::chrono::microseconds(100));
          }
          drainer.drain(writer);
        }) {}
  ~DrainThread() {
    stop_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::unique_ptr<TraceWriter> file_writer(TraceFormat format, const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  return TraceWriter::create(fd, path, format, false);
}

// The producer alone: batches that fit the ring, drained between batches outside the timing.
void BM_ProducerWritesOneEvent(benchmark::State& state) {
  constexpr int kBatch = 50000;  // 2.8 MB of records: fits a 4 MiB ring
  Buffer buffer;
  auto writer =
      TraceWriter::create(open("/dev/null", O_WRONLY), "/dev/null", TraceFormat::Binary, false);
  TraceDrainer drainer(buffer.buffer);
  recorder::RingSink sink(buffer.buffer);
  Event event = access_event(0);
  uint64_t written = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      event.time_ns = written + static_cast<uint64_t>(i);
      sink.write(event);
    }
    written += kBatch;
    state.PauseTiming();
    drainer.drain(*writer);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(written));
}

// Two producers write `kEvents` each; the time runs until the file has them all.
void two_producers_into_file(benchmark::State& state, TraceFormat format) {
  constexpr uint64_t kEvents = 2'000'000;
  std::string path =
      std::string(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") + "/mmiotrace-bench.trace";
  for (auto _ : state) {
    Buffer buffer;
    auto writer = file_writer(format, path);
    auto start = std::chrono::steady_clock::now();
    {
      DrainThread drain(buffer.buffer, *writer);
      recorder::RingSink sink(buffer.buffer);
      std::vector<std::thread> producers;
      for (int p = 0; p < 2; ++p) {
        producers.emplace_back([&sink] {
          for (uint64_t i = 0; i < kEvents; ++i)
            sink.write(access_event(i));
        });
      }
      for (auto& producer : producers)
        producer.join();
    }
    writer->close();
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(seconds);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2 * kEvents));
  unlink(path.c_str());
}

void BM_TwoProducersIntoBinaryFile(benchmark::State& state) {
  two_producers_into_file(state, TraceFormat::Binary);
}
void BM_TwoProducersIntoTextFile(benchmark::State& state) {
  two_producers_into_file(state, TraceFormat::Text);
}

class TargetReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      auto items = run.counters.find("items_per_second");
      if (items != run.counters.end()) rates_[run.run_name.function_name] = items->second.value;
    }
  }
  double rate(const std::string& name) const {
    auto found = rates_.find(name);
    return found == rates_.end() ? 0 : found->second;
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

BENCHMARK(BM_ProducerWritesOneEvent);
BENCHMARK(BM_TwoProducersIntoBinaryFile)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TwoProducersIntoTextFile)->UseManualTime()->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  TargetReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  double producer_ns = 1e9 / reporter.rate("BM_ProducerWritesOneEvent");  // per event
  double binary = reporter.rate("BM_TwoProducersIntoBinaryFile");
  double text = reporter.rate("BM_TwoProducersIntoTextFile");
  printf("\nproducer, one event into its ring: %.1f ns (target < 50: %s)\n", producer_ns,
         producer_ns < 50 ? "met" : "NOT MET");
  printf("two producers into a binary file: %.1f M events/s (target >= 20: %s)\n", binary / 1e6,
         binary >= 20e6 ? "met" : "NOT MET");
  printf("two producers into a text file: %.1f M events/s (target >= 5: %s)\n", text / 1e6,
         text >= 5e6 ? "met" : "NOT MET");
  benchmark::Shutdown();
  return 0;
}
