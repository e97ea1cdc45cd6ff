// The timeline view of a trace: writes its events in Chrome's Trace Event Format (JSON), which
// ui.perfetto.dev and chrome://tracing open; docs/timeline.md describes the tracks and events.
// Streams: one pass, memory bounded by the number of threads and mappings, never by the number
// of events. Normal context.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "analysis/register_map_set.hpp"
#include "mmiotrace/device.h"
#include "trace/event.hpp"

namespace mmiotrace::analysis {

// Synthetic process and thread ids. They sit above Linux's largest pid (PID_MAX_LIMIT, 4194304)
// so that they cannot clash with a traced process or thread, and fit in 32 bits unsigned.
// The "mappings" process; the track of map N is its thread kMappingsPid + N, and that of
// accesses to no known mapping (map id -1) its thread kMappingsPid. In a file of appended
// captures, whose map ids start again, the tracks of the later captures' mappings are its threads
// from kLaterCaptureTids up, in the order they appear, named "map N (capture K)".
inline constexpr uint32_t kMappingsPid = 2'000'000'000;
inline constexpr uint32_t kLaterCaptureTids = kMappingsPid + (uint32_t{1} << 31);
// Events whose pid is 0 (a kernel log, `mmiotrace mark`): the process "PID unknown".
inline constexpr uint32_t kUnknownPid = 1'000'000'000;
// Events of process P whose tid is 0 (the text format carries no tids): the thread
// kUnknownTidBase + P ("thread unknown"), kUnknownPid itself for pid 0.
inline constexpr uint32_t kUnknownTidBase = 1'000'000'000;
// A slice on a thread track lasts until that thread's next event, at most this long, so that
// slices of one thread never overlap. It is not how long the access took.
inline constexpr uint64_t kMaxSliceNs = 1000;
// Marker names keep this many bytes of the text (args.text has all of it).
inline constexpr size_t kMaxMarkerNameBytes = 64;
// PCIDEV lines kept in the metadata; the rest are counted.
inline constexpr size_t kMaxPciDevices = 4096;
// A register (a map id and a physical address) read this many times is polled: its read values
// become a counter track. Until then its reads are held back (so memory follows the registers
// read, at most this many reads each).
inline constexpr uint32_t kPolledReads = 4;
// Registers whose reads are counted; the reads of more (a buffer read byte by byte, say) are
// left out of the counters, and counted in the metadata (reads_without_counter).
inline constexpr size_t kMaxReadRegisters = 65536;
// Timestamps are written relative to a base, so that they stay small enough for a double to
// hold every nanosecond whatever the uptime: the whole second this long before the trace's
// first timed event (0 when that is earlier), in case another thread's events come before it.
inline constexpr uint64_t kBaseMarginNs = 3600'000'000'000;

class PerfettoWriter {
 public:
  // Receives the JSON text in order, in pieces of about 1 MiB. It may throw: the exception
  // leaves write() or finish().
  using Sink = std::function<void(std::string_view)>;

  // `trace_name` names the source trace in the metadata.
  PerfettoWriter(Sink sink, std::string trace_name);
  // Writes to the descriptor `fd`, which it owns and finish() closes. Write errors throw
  // trace::TraceWriteError naming `output_name`.
  PerfettoWriter(int fd, std::string output_name, std::string trace_name);
  // Without finish(), the output stays unfinished (not valid JSON); the descriptor is closed.
  ~PerfettoWriter();
  PerfettoWriter(const PerfettoWriter&) = delete;
  PerfettoWriter& operator=(const PerfettoWriter&) = delete;

  // Names accesses by register and field with `register_maps` (--regs): a slice is then named
  // "W NVME.CC" and has the decoding in args.register. Kept by pointer; null for none.
  void use_register_maps(RegisterMapSet* register_maps) { register_maps_ = register_maps; }

  // Events in the order a TraceReader gives them: each thread's in time order, threads
  // interleaved in any order.
  void write(const trace::Event& event);
  // Gives the last slice of each thread its duration, ends the mappings still open at the
  // trace's last time, writes the metadata and flushes; the output is then valid JSON. Closes
  // the descriptor. Nothing may be written afterwards.
  void finish();

 private:
  // A thread that has events on its own track: its ids in the JSON, and its last slice, held
  // back until the thread's next event says how long it may last.
  struct ThreadTrack {
    uint32_t json_pid = 0;
    uint32_t json_tid = 0;
    bool has_pending = false;
    uint64_t pending_time_ns = 0;
    std::string pending;  // the slice's JSON after its "dur" value
    uint64_t last_time_ns = 0;
  };
  struct MappingTrack {
    uint32_t tid = 0;   // its thread in the mappings process
    std::string label;  // "map 1", "map unknown", "map 1 (capture 2)"
    bool named = false;
    bool open = false;  // between MAP and UNMAP: a "B" without its "E" yet
    uint64_t begin_ns = 0;
    bool mapped = false;  // its MAP was seen: `phys` is known
    uint64_t phys = 0;
    std::string name;                               // as its MAP named it
    const mmiotrace_register* model_map = nullptr;  // its device model's registers, if any
  };
  // The reads of one register, until it is found to be polled (then its counter's name).
  struct RegisterReads {
    uint32_t reads = 0;
    std::vector<std::pair<uint64_t, uint64_t>> held;  // (time, value) of the first reads
    std::string counter;                              // the counter track's name, once polled
  };

  ThreadTrack& thread_track(int32_t pid, int32_t tid);
  // The track of `map_id` in the current capture, made at its first use; mapping_track() also
  // names it after its label, if nothing named it before.
  MappingTrack& mapping_of(int32_t map_id);
  MappingTrack& mapping_track(int32_t map_id);
  void name_mapping_track(MappingTrack& mapping, std::string_view name);
  // Writes the thread's pending slice, lasting until `next_time_ns` (at most kMaxSliceNs).
  void settle(ThreadTrack& thread, uint64_t next_time_ns);
  // Holds a slice at `time_ns` on the thread's track, named `name`, with `args_` as its args.
  void hold_slice(ThreadTrack& thread, uint64_t time_ns, std::string_view name,
                  std::string_view category);

  void write_access(const trace::Event& event);
  void write_unknown(const trace::Event& event);
  void write_map(const trace::Event& event);
  void write_unmap(const trace::Event& event);
  void write_marker(const trace::Event& event);
  // The markers mmiotrace writes for its readers (trace/markers.hpp): no global instant. True
  // when `text` was one.
  bool write_bookkeeping_marker(const trace::Event& event, std::string_view text);
  // Counts a read of up to 8 bytes; a polled register's reads go to its counter track.
  void count_read(const trace::Event& event, uint64_t value, unsigned width);
  void write_counter(const std::string& name, uint64_t time_ns, uint64_t value);
  void write_lost(const trace::Event& event);
  void write_ioctl(const trace::Event& event);

  // Ends the mapping's slice (an "E" on its track) at `time_ns` (not before it began), with
  // `args` (a JSON object).
  void end_mapping(MappingTrack& mapping, uint64_t time_ns, std::string_view args);
  // Starts the next element of traceEvents: its separator and "{".
  void begin_event();
  // A "ph":"M" event: `kind` is process_name, thread_name...; `args` the inside of its args.
  void write_metadata_event(uint32_t json_pid, std::optional<uint32_t> json_tid,
                            std::string_view kind, std::string_view args);
  void write_instant(char scope, uint64_t time_ns, uint32_t json_pid, uint32_t json_tid,
                     std::string_view name, std::string_view category);
  // An event's "ts": microseconds since the base, with three decimals (negative for a time
  // before the base).
  void append_time(std::string& out, uint64_t time_ns);
  void flush_if_full();
  void emit(std::string_view text);

  Sink sink_;
  RegisterMapSet* register_maps_ = nullptr;
  int fd_ = -1;
  std::string output_name_;
  std::string trace_name_;
  std::string out_;   // JSON not yet handed to the sink
  std::string args_;  // the args object of the event being written
  std::string name_;  // ... and its name
  bool first_event_ = true;
  bool finished_ = false;
  uint64_t last_time_ns_ = 0;        // the latest time seen
  std::optional<uint64_t> base_ns_;  // what "ts" counts from; set at the first timed event
  uint64_t events_read_ = 0;
  uint64_t events_lost_ = 0;

  std::unordered_map<uint64_t, ThreadTrack> threads_;  // by (pid << 32 | tid) as traced
  ThreadTrack* last_thread_ = nullptr;                 // the one found last, for speed
  uint64_t last_thread_key_ = 0;
  std::unordered_set<uint32_t> named_processes_;
  // By capture << 32 | map id (0 for unknown): map ids start again in each appended capture.
  std::unordered_map<uint64_t, MappingTrack> mappings_;
  uint32_t capture_ = 0;  // how many Segment events came before: 0 in the first capture
  uint32_t next_later_capture_tid_ = kLaterCaptureTids;
  // By mapping (as mappings_) and physical address.
  std::map<std::pair<uint64_t, uint64_t>, RegisterReads> register_reads_;
  // The module markers seen, and the reads of registers beyond kMaxReadRegisters.
  uint64_t modules_ = 0;
  uint64_t reads_uncounted_ = 0;
  std::vector<std::string> pci_devices_;  // as JSON strings, quotes included
  uint64_t pci_devices_omitted_ = 0;
};

}  // namespace mmiotrace::analysis
