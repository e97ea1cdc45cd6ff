// Writing the timeline (see perfetto_writer.hpp; the format is described in docs/timeline.md).
#include "analysis/perfetto_writer.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "analysis/device_registers.hpp"
#include "analysis/json_text.hpp"
#include "core/syscall.hpp"
#include "trace/markers.hpp"
#include "trace/trace_writer.hpp"

namespace mmiotrace::analysis {
namespace {

using trace::Event;
using trace::EventKind;

constexpr size_t kFlushAt = 1 << 20;
constexpr char kHexDigits[] = "0123456789abcdef";

void append_decimal(std::string& out, uint64_t value) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out.append(digits, result.ptr);
}

void append_signed(std::string& out, int64_t value) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out.append(digits, result.ptr);
}

// 0x and the lowercase hex digits of `value`, without leading zeros.
void append_hex(std::string& out, uint64_t value) {
  char digits[24] = {'0', 'x'};
  auto result = std::to_chars(digits + 2, digits + sizeof(digits), value, 16);
  out.append(digits, result.ptr);
}

// A 64-bit number as a JSON string ("0x1c"): a JavaScript number would lose its low bits.
void append_hex_string(std::string& out, uint64_t value) {
  out += '"';
  append_hex(out, value);
  out += '"';
}

// Chrome's timestamps and durations are microseconds: three decimals keep every nanosecond in
// the text, and through an importer's double while the nanoseconds stay below about 2^53 (hence
// the base that "ts" counts from: kBaseMarginNs).
void append_microseconds(std::string& out, uint64_t ns) {
  append_decimal(out, ns / 1000);
  unsigned fraction = static_cast<unsigned>(ns % 1000);
  const char decimals[4] = {'.', static_cast<char>('0' + fraction / 100),
                            static_cast<char>('0' + fraction / 10 % 10),
                            static_cast<char>('0' + fraction % 10)};
  out.append(decimals, sizeof(decimals));
}

// The little-endian value of `width` bytes as one JSON hex string, without leading zeros.
void append_value(std::string& out, const uint8_t* value, unsigned width) {
  unsigned top = width;
  while (top > 0 && value[top - 1] == 0)
    --top;
  out += "\"0x";
  if (top == 0) {
    out += "0\"";
    return;
  }
  uint8_t first = value[top - 1];
  if (first >= 0x10) out += kHexDigits[first >> 4];
  out += kHexDigits[first & 15];
  for (unsigned i = top - 1; i-- > 0;) {
    out += kHexDigits[value[i] >> 4];
    out += kHexDigits[value[i] & 15];
  }
  out += '"';
}

// Bytes in memory order, two hex digits each, as a JSON string.
void append_bytes(std::string& out, const uint8_t* bytes, size_t size, std::string_view separator) {
  out += '"';
  for (size_t i = 0; i < size; ++i) {
    if (i > 0) out += separator;
    out += kHexDigits[bytes[i] >> 4];
    out += kHexDigits[bytes[i] & 15];
  }
  out += '"';
}

uint32_t json_pid_of(int32_t pid) {
  return pid > 0 ? static_cast<uint32_t>(pid) : kUnknownPid;
}

uint32_t json_tid_of(int32_t pid, int32_t tid) {
  if (tid > 0) return static_cast<uint32_t>(tid);
  return kUnknownTidBase + (pid > 0 ? static_cast<uint32_t>(pid) : 0);
}

uint32_t map_number(int32_t map_id) {
  return map_id > 0 ? static_cast<uint32_t>(map_id) : 0;
}

// The mapping's name, as its track and its slice are named: "map 1 @0xfebf0000 (0x4000 bytes)",
// after its label ("map 1", "map 1 (capture 2)").
std::string mapping_name(std::string_view label, const Event& map) {
  std::string name(label);
  name += " @";
  append_hex(name, map.phys);
  name += " (";
  append_hex(name, map.length);
  name += " bytes)";
  return name;
}

}  // namespace

PerfettoWriter::PerfettoWriter(Sink sink, std::string trace_name)
    : sink_(std::move(sink)), trace_name_(std::move(trace_name)) {
  out_.reserve(kFlushAt + 16384);
  out_ += "{\"traceEvents\":[";
}

PerfettoWriter::PerfettoWriter(int fd, std::string output_name, std::string trace_name)
    : PerfettoWriter(Sink(), std::move(trace_name)) {
  fd_ = fd;
  output_name_ = std::move(output_name);
}

PerfettoWriter::~PerfettoWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void PerfettoWriter::write(const Event& event) {
  if (finished_) throw std::logic_error("PerfettoWriter: write() after finish()");
  ++events_read_;
  if (!base_ns_ && event.time_ns != 0 && event.kind != EventKind::PciDevice) {
    uint64_t earlier = event.time_ns > kBaseMarginNs ? event.time_ns - kBaseMarginNs : 0;
    base_ns_ = earlier / 1'000'000'000 * 1'000'000'000;
  }
  last_time_ns_ = std::max(last_time_ns_, event.time_ns);
  switch (event.kind) {
    case EventKind::Read:
    case EventKind::Write:
      write_access(event);
      break;
    case EventKind::Unknown:
      write_unknown(event);
      break;
    case EventKind::Map:
      write_map(event);
      break;
    case EventKind::Unmap:
      write_unmap(event);
      break;
    case EventKind::Mark:
      write_marker(event);
      break;
    case EventKind::Lost:
      write_lost(event);
      break;
    case EventKind::Ioctl:
      write_ioctl(event);
      break;
    case EventKind::Comment:
      break;
    case EventKind::Segment:  // another capture: its map ids start again
      ++capture_;
      break;
    case EventKind::PciDevice:
      if (pci_devices_.size() < kMaxPciDevices) {
        std::string line = "\"";
        append_json_text(line, std::string_view(event.text ? event.text : "", event.text_length));
        line += '"';
        pci_devices_.push_back(std::move(line));
      } else {
        ++pci_devices_omitted_;
      }
      break;
  }
  flush_if_full();
}

void PerfettoWriter::finish() {
  if (finished_) return;
  finished_ = true;
  for (auto& [key, thread] : threads_)
    settle(thread, thread.pending_time_ns + kMaxSliceNs);
  for (auto& [key, mapping] : mappings_) {
    if (mapping.open) end_mapping(mapping, last_time_ns_, "{\"open_at_end\":true}");
  }
  out_ += "\n],\"metadata\":{\"generator\":\"mmiotrace\",\"trace\":\"";
  append_json_text(out_, trace_name_);
  out_ += "\",\"clock\":\"CLOCK_MONOTONIC\",\"ts_base_ns\":\"";
  append_decimal(out_, base_ns_.value_or(0));
  out_ += "\",\"mappings_pid\":";
  append_decimal(out_, kMappingsPid);
  out_ += ",\"trace_events\":";
  append_decimal(out_, events_read_);
  out_ += ",\"lost_events\":";
  append_decimal(out_, events_lost_);
  out_ += ",\"modules\":";
  append_decimal(out_, modules_);
  out_ += ",\"reads_without_counter\":";
  append_decimal(out_, reads_uncounted_);
  out_ += ",\"pci_devices\":[";
  for (size_t i = 0; i < pci_devices_.size(); ++i) {
    if (i > 0) out_ += ',';
    out_ += pci_devices_[i];
  }
  out_ += ']';
  if (pci_devices_omitted_ > 0) {
    out_ += ",\"pci_devices_omitted\":";
    append_decimal(out_, pci_devices_omitted_);
  }
  out_ += "}}\n";
  emit(out_);
  out_.clear();
  if (fd_ >= 0) {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      int error = errno;
      throw trace::TraceWriteError("cannot write to '" + output_name_ + "': " + strerror(error),
                                   error);
    }
  }
}

PerfettoWriter::ThreadTrack& PerfettoWriter::thread_track(int32_t pid, int32_t tid) {
  uint32_t json_pid = json_pid_of(pid);
  uint32_t json_tid = json_tid_of(pid, tid);
  uint64_t key = static_cast<uint64_t>(json_pid) << 32 | json_tid;
  if (last_thread_ != nullptr && key == last_thread_key_) return *last_thread_;
  auto [entry, inserted] = threads_.try_emplace(key);
  ThreadTrack& thread = entry->second;
  if (inserted) {
    thread.json_pid = json_pid;
    thread.json_tid = json_tid;
    if (named_processes_.insert(json_pid).second) {
      std::string name = pid > 0 ? "PID " + std::to_string(pid) : "PID unknown";
      write_metadata_event(json_pid, std::nullopt, "process_name", "\"name\":\"" + name + "\"");
    }
    std::string name = tid > 0 ? "TID " + std::to_string(tid) : "thread unknown";
    write_metadata_event(json_pid, json_tid, "thread_name", "\"name\":\"" + name + "\"");
  }
  last_thread_ = &thread;
  last_thread_key_ = key;
  return thread;
}

PerfettoWriter::MappingTrack& PerfettoWriter::mapping_of(int32_t map_id) {
  const uint32_t number = map_number(map_id);
  MappingTrack& mapping = mappings_[uint64_t{capture_} << 32 | number];
  if (mapping.tid == 0) {
    mapping.tid = capture_ == 0 ? kMappingsPid + number : next_later_capture_tid_++;
    mapping.label = number > 0 ? "map " + std::to_string(number) : "map unknown";
    if (capture_ > 0) mapping.label += " (capture " + std::to_string(capture_ + 1) + ")";
  }
  return mapping;
}

PerfettoWriter::MappingTrack& PerfettoWriter::mapping_track(int32_t map_id) {
  MappingTrack& mapping = mapping_of(map_id);
  if (!mapping.named) name_mapping_track(mapping, mapping.label);
  return mapping;
}

void PerfettoWriter::name_mapping_track(MappingTrack& mapping, std::string_view name) {
  if (named_processes_.insert(kMappingsPid).second) {
    write_metadata_event(kMappingsPid, std::nullopt, "process_name", "\"name\":\"mappings\"");
  }
  std::string args = "\"name\":\"";
  append_json_label(args, name, name.size());
  args += '"';
  write_metadata_event(kMappingsPid, mapping.tid, "thread_name", args);
  if (!mapping.named) {
    args = "\"sort_index\":";
    append_decimal(args, mapping.tid - kMappingsPid);
    write_metadata_event(kMappingsPid, mapping.tid, "thread_sort_index", args);
  }
  mapping.named = true;
}

void PerfettoWriter::settle(ThreadTrack& thread, uint64_t next_time_ns) {
  if (!thread.has_pending) return;
  uint64_t gap = next_time_ns > thread.pending_time_ns ? next_time_ns - thread.pending_time_ns : 0;
  begin_event();
  out_ += "\"ph\":\"X\",\"ts\":";
  append_time(out_, thread.pending_time_ns);
  out_ += ",\"dur\":";
  append_microseconds(out_, std::min(gap, kMaxSliceNs));
  out_ += thread.pending;
  thread.has_pending = false;
}

void PerfettoWriter::hold_slice(ThreadTrack& thread, uint64_t time_ns, std::string_view name,
                                std::string_view category) {
  settle(thread, time_ns);
  std::string& body = thread.pending;
  body.clear();
  body += ",\"pid\":";
  append_decimal(body, thread.json_pid);
  body += ",\"tid\":";
  append_decimal(body, thread.json_tid);
  body += ",\"name\":\"";
  body += name;
  body += "\",\"cat\":\"";
  body += category;
  body += "\",\"args\":";
  body += args_;
  body += '}';
  thread.has_pending = true;
  thread.pending_time_ns = time_ns;
  thread.last_time_ns = std::max(thread.last_time_ns, time_ns);
}

void PerfettoWriter::write_access(const Event& event) {
  unsigned width = std::min<unsigned>(event.width, trace::kMaxEventWidth);
  const char kind = event.kind == EventKind::Read ? 'R' : 'W';
  args_.assign("{\"kind\":\"");
  args_ += kind;
  args_ += "\",\"width\":";
  append_decimal(args_, width);
  args_ += ",\"map\":";
  append_signed(args_, event.map_id);
  args_ += ",\"phys\":";
  append_hex_string(args_, event.phys);
  if (event.virt != 0) {
    args_ += ",\"virt\":";
    append_hex_string(args_, event.virt);
  }
  args_ += ",\"value\":";
  append_value(args_, event.value, width);
  args_ += ",\"pc\":";
  append_hex_string(args_, event.pc);
  args_ += ",\"pid\":";
  append_signed(args_, event.pid);
  args_ += ",\"tid\":";
  append_signed(args_, event.tid);
  std::string register_name;
  uint64_t value = 0;
  if (width <= 8) std::memcpy(&value, event.value, width);
  if (register_maps_ != nullptr && width <= 8) {
    auto direction = kind == 'R' ? AccessDirection::Read : AccessDirection::Write;
    std::string decoded =
        register_maps_->describe(event.map_id, event.phys, width, value, direction);
    if (!decoded.empty()) {
      args_ += ",\"register\":\"";
      append_json_text(args_, decoded);
      args_ += '"';
      register_name = register_maps_->register_name(event.map_id, event.phys, width);
    }
  }
  args_ += '}';
  name_.assign(1, kind);
  name_ += ' ';
  if (!register_name.empty()) {
    append_json_label(name_, register_name, kMaxMarkerNameBytes);
  } else {
    append_decimal(name_, width);
    name_ += " @";
    append_hex(name_, event.phys);
  }
  hold_slice(thread_track(event.pid, event.tid), event.time_ns, name_, "mmio");
  const uint32_t mapping_tid = mapping_track(event.map_id).tid;
  write_instant('t', event.time_ns, kMappingsPid, mapping_tid, name_, "mmio");
  if (kind == 'R' && width <= 8) count_read(event, value, width);
}

void PerfettoWriter::count_read(const Event& event, uint64_t value, unsigned width) {
  std::pair<uint64_t, uint64_t> key(uint64_t{capture_} << 32 | map_number(event.map_id),
                                    event.phys);
  auto found = register_reads_.find(key);
  if (found == register_reads_.end()) {
    if (register_reads_.size() >= kMaxReadRegisters) {  // a buffer read through, not registers
      ++reads_uncounted_;
      return;
    }
    found = register_reads_.emplace(key, RegisterReads()).first;
  }
  RegisterReads& reads = found->second;
  if (!reads.counter.empty()) {  // polled already
    write_counter(reads.counter, event.time_ns, value);
    return;
  }
  ++reads.reads;
  if (reads.reads < kPolledReads) {
    reads.held.emplace_back(event.time_ns, value);
    return;
  }
  // Polled: its counter track is named, as the register is, after the map id and the
  // register (by --regs, else the device model), or its offset in the mapping.
  const MappingTrack& mapping = mapping_track(event.map_id);
  std::string name = mapping.label;
  std::string reg;
  if (register_maps_ != nullptr)
    reg = register_maps_->register_name(event.map_id, event.phys, width);
  if (reg.empty() && mapping.mapped && event.phys >= mapping.phys) {
    reg = device_register_name(mapping.model_map, event.phys - mapping.phys, width);
  }
  if (reg.empty() || reg.rfind("offset ", 0) == 0) {
    reg.clear();
    if (mapping.mapped && event.phys >= mapping.phys) {
      reg = "+";
      append_hex(reg, event.phys - mapping.phys);
    } else {
      reg = "@";
      append_hex(reg, event.phys);
    }
  }
  reads.counter = name + " " + reg;
  for (const auto& [time_ns, held] : reads.held)
    write_counter(reads.counter, time_ns, held);
  reads.held.clear();
  reads.held.shrink_to_fit();
  write_counter(reads.counter, event.time_ns, value);
}

void PerfettoWriter::write_counter(const std::string& name, uint64_t time_ns, uint64_t value) {
  begin_event();
  out_ += "\"ph\":\"C\",\"ts\":";
  append_time(out_, time_ns);
  out_ += ",\"pid\":";
  append_decimal(out_, kMappingsPid);
  out_ += ",\"name\":\"";
  append_json_label(out_, name, name.size());
  out_ += "\",\"cat\":\"register\",\"args\":{\"read\":";
  if (value < (uint64_t{1} << 63)) {
    append_decimal(out_, value);
  } else {  // beyond a signed 64-bit integer, which a JSON importer may refuse: a double
    char digits[32];
    auto result = std::to_chars(digits, digits + sizeof(digits), static_cast<double>(value));
    out_.append(digits, result.ptr);
  }
  out_ += "}}";
}

void PerfettoWriter::write_unknown(const Event& event) {
  args_.assign("{\"kind\":\"UNKNOWN\",\"map\":");
  append_signed(args_, event.map_id);
  args_ += ",\"phys\":";
  append_hex_string(args_, event.phys);
  if (event.virt != 0) {
    args_ += ",\"virt\":";
    append_hex_string(args_, event.virt);
  }
  args_ += ",\"insn\":";
  append_bytes(args_, event.insn, std::min<size_t>(event.insn_length, sizeof(event.insn)), " ");
  args_ += ",\"pc\":";
  append_hex_string(args_, event.pc);
  args_ += ",\"pid\":";
  append_signed(args_, event.pid);
  args_ += ",\"tid\":";
  append_signed(args_, event.tid);
  args_ += '}';
  ThreadTrack& thread = thread_track(event.pid, event.tid);
  settle(thread, event.time_ns);
  thread.last_time_ns = std::max(thread.last_time_ns, event.time_ns);
  write_instant('t', event.time_ns, thread.json_pid, thread.json_tid, "UNKNOWN", "mmio");
  write_instant('t', event.time_ns, kMappingsPid, mapping_track(event.map_id).tid, "UNKNOWN",
                "mmio");
}

void PerfettoWriter::write_map(const Event& event) {
  args_.assign("{\"map\":");
  append_signed(args_, event.map_id);
  args_ += ",\"phys\":";
  append_hex_string(args_, event.phys);
  args_ += ",\"virt\":";
  append_hex_string(args_, event.virt);
  args_ += ",\"length\":";
  append_hex_string(args_, event.length);
  args_ += ",\"pc\":";
  append_hex_string(args_, event.pc);
  args_ += ",\"pid\":";
  append_signed(args_, event.pid);
  args_ += ",\"tid\":";
  append_signed(args_, event.tid);
  args_ += '}';
  if (register_maps_ != nullptr) register_maps_->mapped(event.map_id, event.phys);
  MappingTrack& mapping = mapping_of(event.map_id);
  std::string name = mapping_name(mapping.label, event);
  name_mapping_track(mapping, name);
  mapping.mapped = true;
  mapping.phys = event.phys;
  mapping.name = name;
  mapping.model_map = nullptr;
  const uint32_t tid = mapping.tid;
  if (mapping.open) {  // a second MAP of the same id: the first one ends here
    end_mapping(mapping, event.time_ns, "{\"ended_by_another_map\":true}");
  }
  begin_event();
  out_ += "\"ph\":\"B\",\"ts\":";
  append_time(out_, event.time_ns);
  out_ += ",\"pid\":";
  append_decimal(out_, kMappingsPid);
  out_ += ",\"tid\":";
  append_decimal(out_, tid);
  out_ += ",\"name\":\"";
  append_json_label(out_, name, name.size());
  out_ += "\",\"cat\":\"mapping\",\"args\":";
  out_ += args_;
  out_ += '}';
  mapping.open = true;
  mapping.begin_ns = event.time_ns;
  name_.assign("MAP");
  name_.append(name, 3);  // "MAP 1 @0x... (0x... bytes)"
  hold_slice(thread_track(event.pid, event.tid), event.time_ns, name_, "mapping");
}

void PerfettoWriter::write_unmap(const Event& event) {
  args_.assign("{\"map\":");
  append_signed(args_, event.map_id);
  args_ += ",\"unmap_pc\":";
  append_hex_string(args_, event.pc);
  args_ += ",\"unmap_pid\":";
  append_signed(args_, event.pid);
  args_ += ",\"unmap_tid\":";
  append_signed(args_, event.tid);
  args_ += '}';
  MappingTrack& mapping = mapping_track(event.map_id);
  const uint32_t tid = mapping.tid;
  if (mapping.open) {
    end_mapping(mapping, event.time_ns, args_);
  } else {  // no MAP before it (a trace cut at its start): a mark, not a slice's end
    write_instant('t', event.time_ns, kMappingsPid, tid, "UNMAP without MAP", "mapping");
  }
  name_.assign("UNMAP ");
  append_signed(name_, event.map_id);
  hold_slice(thread_track(event.pid, event.tid), event.time_ns, name_, "mapping");
}

bool PerfettoWriter::write_bookkeeping_marker(const Event& event, std::string_view text) {
  if (trace::parse_module_marker(text) || trace::parse_architecture_marker(text)) {
    ++modules_;
    return true;
  }
  if (std::optional<trace::DeviceMarker> device = trace::parse_device_marker(text)) {
    // It says which device the mapping is: its track is renamed after it.
    MappingTrack& mapping = mapping_track(device->map_id);
    mapping.model_map = registers_of_trace_device(device->spec).registers;  // loads no plugin
    const std::string& name = mapping.name.empty() ? mapping.label : mapping.name;
    name_mapping_track(mapping, name + " " + device->spec);
    return true;
  }
  if (std::optional<trace::PciConfigMarker> config = trace::parse_pci_config_marker(text)) {
    if (config->kind == "contents") return true;  // the function's power-on state
    // The program read or wrote the function's configuration space: an instant on its thread.
    args_.assign("{\"function\":\"");
    append_json_text(args_, config->function);
    args_ += "\",\"kind\":\"";
    append_json_text(args_, config->kind);
    args_ += "\",\"offset\":";
    append_hex_string(args_, config->offset);
    args_ += ",\"bytes\":";
    append_bytes(args_, reinterpret_cast<const uint8_t*>(config->bytes.data()),
                 config->bytes.size(), "");
    args_ += ",\"pid\":";
    append_signed(args_, event.pid);
    args_ += ",\"tid\":";
    append_signed(args_, event.tid);
    args_ += '}';
    name_.assign("config ");
    append_json_label(name_, config->kind, kMaxMarkerNameBytes);
    name_ += ' ';
    append_hex(name_, config->offset);
    ThreadTrack& thread = thread_track(event.pid, event.tid);
    settle(thread, event.time_ns);
    thread.last_time_ns = std::max(thread.last_time_ns, event.time_ns);
    write_instant('t', event.time_ns, thread.json_pid, thread.json_tid, name_, "pci-config");
    return true;
  }
  if (std::optional<trace::VfioMarker> vfio = trace::parse_vfio_marker(text)) {
    // The program asked the emulated VFIO for something: an instant on its thread.
    args_.assign("{\"subject\":\"");
    append_json_text(args_, vfio->subject);
    args_ += "\",\"action\":\"";
    append_json_text(args_, vfio->action);
    args_ += "\",\"values\":[";
    for (size_t i = 0; i < vfio->values.size(); ++i) {
      if (i > 0) args_ += ',';
      append_hex_string(args_, vfio->values[i]);
    }
    args_ += "],\"pid\":";
    append_signed(args_, event.pid);
    args_ += ",\"tid\":";
    append_signed(args_, event.tid);
    args_ += '}';
    name_.assign("vfio ");
    append_json_label(name_, vfio->action, kMaxMarkerNameBytes);
    ThreadTrack& thread = thread_track(event.pid, event.tid);
    settle(thread, event.time_ns);
    thread.last_time_ns = std::max(thread.last_time_ns, event.time_ns);
    write_instant('t', event.time_ns, thread.json_pid, thread.json_tid, name_, "vfio");
    return true;
  }
  return false;
}

void PerfettoWriter::write_marker(const Event& event) {
  std::string_view text(event.text ? event.text : "", event.text ? event.text_length : 0);
  if (write_bookkeeping_marker(event, text)) return;
  args_.assign("{\"text\":\"");
  bool exact = append_json_text(args_, text);
  args_ += '"';
  if (!exact) {  // the bytes themselves, since the text had to replace some
    args_ += ",\"text_bytes\":";
    append_bytes(args_, reinterpret_cast<const uint8_t*>(text.data()), text.size(), "");
  }
  args_ += ",\"pid\":";
  append_signed(args_, event.pid);
  args_ += ",\"tid\":";
  append_signed(args_, event.tid);
  args_ += '}';
  name_.clear();
  if (text.empty()) {
    name_ = "MARK";
  } else {
    append_json_label(name_, text, kMaxMarkerNameBytes);
  }
  write_instant('g', event.time_ns, json_pid_of(event.pid), json_tid_of(event.pid, event.tid),
                name_, "marker");
}

void PerfettoWriter::write_lost(const Event& event) {
  events_lost_ += event.length;
  uint64_t time_ns = event.time_ns;
  if (time_ns == 0) {  // the text format has no time for it: where the thread was, or the trace
    uint32_t json_pid = json_pid_of(event.pid);
    uint64_t key = static_cast<uint64_t>(json_pid) << 32 | json_tid_of(event.pid, event.tid);
    auto thread = threads_.find(key);
    time_ns = thread != threads_.end() ? thread->second.last_time_ns : last_time_ns_;
  }
  args_.assign("{\"count\":");
  append_decimal(args_, event.length);
  if (event.time_ns == 0) args_ += ",\"time_unknown\":true";
  args_ += ",\"pid\":";
  append_signed(args_, event.pid);
  args_ += ",\"tid\":";
  append_signed(args_, event.tid);
  args_ += '}';
  name_.assign("LOST ");
  append_decimal(name_, event.length);
  name_ += " events";
  write_instant('g', time_ns, json_pid_of(event.pid), json_tid_of(event.pid, event.tid), name_,
                "lost");
}

void PerfettoWriter::write_ioctl(const Event& event) {
  uint32_t logged = std::min(event.logged_size, trace::kMaxIoctlLogged);
  args_.assign("{\"fd\":");
  append_signed(args_, event.fd);
  args_ += ",\"request\":";
  append_hex_string(args_, event.request);
  args_ += ",\"arg\":";
  append_hex_string(args_, event.virt);
  args_ += ",\"size\":";
  append_decimal(args_, event.argument_size);
  args_ += ",\"result\":";
  append_signed(args_, event.result);
  if (event.before != nullptr) {
    args_ += ",\"before\":";
    append_bytes(args_, event.before, logged, "");
  }
  if (event.after != nullptr) {
    args_ += ",\"after\":";
    append_bytes(args_, event.after, logged, "");
  }
  args_ += ",\"pid\":";
  append_signed(args_, event.pid);
  args_ += ",\"tid\":";
  append_signed(args_, event.tid);
  args_ += '}';
  name_.assign("ioctl ");
  append_hex(name_, event.request);
  hold_slice(thread_track(event.pid, event.tid), event.time_ns, name_, "ioctl");
}

void PerfettoWriter::end_mapping(MappingTrack& mapping, uint64_t time_ns, std::string_view args) {
  begin_event();
  out_ += "\"ph\":\"E\",\"ts\":";
  append_time(out_, std::max(time_ns, mapping.begin_ns));
  out_ += ",\"pid\":";
  append_decimal(out_, kMappingsPid);
  out_ += ",\"tid\":";
  append_decimal(out_, mapping.tid);
  out_ += ",\"args\":";
  out_ += args;
  out_ += '}';
  mapping.open = false;
}

void PerfettoWriter::begin_event() {
  out_ += first_event_ ? "\n{" : ",\n{";
  first_event_ = false;
}

void PerfettoWriter::write_metadata_event(uint32_t json_pid, std::optional<uint32_t> json_tid,
                                          std::string_view kind, std::string_view args) {
  begin_event();
  out_ += "\"ph\":\"M\",\"pid\":";
  append_decimal(out_, json_pid);
  if (json_tid) {
    out_ += ",\"tid\":";
    append_decimal(out_, *json_tid);
  }
  out_ += ",\"name\":\"";
  out_ += kind;
  out_ += "\",\"args\":{";
  out_ += args;
  out_ += "}}";
}

void PerfettoWriter::write_instant(char scope, uint64_t time_ns, uint32_t json_pid,
                                   uint32_t json_tid, std::string_view name,
                                   std::string_view category) {
  begin_event();
  out_ += "\"ph\":\"i\",\"s\":\"";
  out_ += scope;
  out_ += "\",\"ts\":";
  append_time(out_, time_ns);
  out_ += ",\"pid\":";
  append_decimal(out_, json_pid);
  out_ += ",\"tid\":";
  append_decimal(out_, json_tid);
  out_ += ",\"name\":\"";
  out_ += name;
  out_ += "\",\"cat\":\"";
  out_ += category;
  out_ += "\",\"args\":";
  out_ += args_;
  out_ += '}';
}

void PerfettoWriter::append_time(std::string& out, uint64_t time_ns) {
  uint64_t base = base_ns_.value_or(0);
  if (time_ns >= base) {
    append_microseconds(out, time_ns - base);
  } else {
    out += '-';
    append_microseconds(out, base - time_ns);
  }
}

void PerfettoWriter::flush_if_full() {
  if (out_.size() < kFlushAt) return;
  emit(out_);
  out_.clear();
}

void PerfettoWriter::emit(std::string_view text) {
  if (sink_) {
    sink_(text);
    return;
  }
  if (fd_ < 0) throw trace::TraceWriteError("cannot write to '" + output_name_ + "': it is closed");
  long status = sys::write_all(fd_, text.data(), text.size());
  if (status != 0) {
    int error = static_cast<int>(-status);
    throw trace::TraceWriteError("cannot write to '" + output_name_ + "': " + strerror(error),
                                 error);
  }
}

}  // namespace mmiotrace::analysis
