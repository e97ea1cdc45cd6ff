// Unit tests for the Perfetto timeline (Chrome's JSON trace events): the document parses, one
// track per thread and per mapping, accesses as slices with their values as arguments, markers
// and LOST as instant events (bookkeeping markers not), mappings as begin/end pairs, slices of a
// thread never overlap, polled registers as counter tracks, and timestamps that a double holds
// to the nanosecond at any uptime.
#include "analysis/perfetto_writer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <list>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace mmiotrace::analysis {
namespace {

using nlohmann::json;
using trace::Event;
using trace::EventKind;

Event map_event(int id, uint64_t phys, uint64_t length, uint64_t time, int pid = 10) {
  Event event;
  event.kind = EventKind::Map;
  event.map_id = id;
  event.phys = phys;
  event.virt = 0x7f0000000000;
  event.length = length;
  event.time_ns = time;
  event.pc = 0x401000;
  event.pid = pid;
  event.tid = pid;
  return event;
}

Event unmap_event(int id, uint64_t time, int pid = 10) {
  Event event;
  event.kind = EventKind::Unmap;
  event.map_id = id;
  event.time_ns = time;
  event.pid = pid;
  event.tid = pid;
  return event;
}

Event access(EventKind kind, int map, uint64_t phys, uint64_t value, unsigned width, uint64_t time,
             int tid = 10, int pid = 10) {
  Event event;
  event.kind = kind;
  event.map_id = map;
  event.phys = phys;
  event.virt = 0x7f0000000000 + (phys & 0xfff);
  event.width = static_cast<uint8_t>(width);
  std::memcpy(event.value, &value, width < 8 ? width : 8);
  event.time_ns = time;
  event.pc = 0x401234;
  event.pid = pid;
  event.tid = tid;
  return event;
}

Event mark(const std::string& text, uint64_t time) {
  static std::list<std::string> kept;  // each marker's text, for as long as the tests run
  const std::string& copy = kept.emplace_back(text);
  Event event;
  event.kind = EventKind::Mark;
  event.text = copy.data();
  event.text_length = static_cast<uint32_t>(copy.size());
  event.time_ns = time;
  event.pid = 10;
  event.tid = 10;
  return event;
}

// The whole JSON document the writer makes from `events`, and how many pieces it came in.
struct Timeline {
  json document;
  std::string text;
  size_t pieces = 0;
};

Timeline timeline_of(const std::vector<Event>& events, RegisterMapSet* register_maps = nullptr) {
  Timeline result;
  PerfettoWriter writer(
      [&](std::string_view piece) {
        result.text.append(piece);
        ++result.pieces;
      },
      "trace.bin");
  writer.use_register_maps(register_maps);
  for (const Event& event : events)
    writer.write(event);
  writer.finish();
  result.document = json::parse(result.text);  // throws when it is not JSON
  return result;
}

std::vector<json> events_where(const json& document, const std::string& phase) {
  std::vector<json> found;
  for (const json& event : document["traceEvents"]) {
    if (event["ph"] == phase) found.push_back(event);
  }
  return found;
}

// The name the last "M" thread_name (or process_name) event gives the track (pid, tid).
std::string track_name(const json& document, uint64_t pid, std::optional<uint64_t> tid) {
  std::string name;
  for (const json& event : document["traceEvents"]) {
    if (event["ph"] != "M" || event["pid"] != pid) continue;
    if (tid && event["name"] == "thread_name" && event["tid"] == *tid) name = event["args"]["name"];
    if (!tid && event["name"] == "process_name") name = event["args"]["name"];
  }
  return name;
}

TEST(PerfettoWriter, EveryEventHasTheFieldsItsPhaseNeeds) {
  Timeline timeline = timeline_of({map_event(1, 0xfebf0000, 0x4000, 1000),
                                   access(EventKind::Write, 1, 0xfebf0014, 0x460001, 4, 2000),
                                   access(EventKind::Read, 1, 0xfebf001c, 1, 4, 2500),
                                   mark("controller ready", 3000), unmap_event(1, 4000)});
  const json& document = timeline.document;
  ASSERT_TRUE(document["traceEvents"].is_array());
  // No displayTimeUnit: some versions of Perfetto's importer took "ns" there to mean that "ts"
  // counts nanoseconds.
  EXPECT_FALSE(document.contains("displayTimeUnit"));
  EXPECT_EQ(document["metadata"]["generator"], "mmiotrace");
  EXPECT_EQ(document["metadata"]["trace"], "trace.bin");
  EXPECT_EQ(document["metadata"]["trace_events"], 5);
  EXPECT_EQ(document["metadata"]["lost_events"], 0);
  for (const json& event : document["traceEvents"]) {
    ASSERT_TRUE(event.contains("ph")) << event;
    ASSERT_TRUE(event["pid"].is_number_unsigned()) << event;
    std::string phase = event["ph"];
    ASSERT_TRUE(phase == "M" || phase == "X" || phase == "i" || phase == "B" || phase == "E" ||
                phase == "C")
        << event;
    if (phase == "M") continue;
    EXPECT_TRUE(event["ts"].is_number()) << event;
    if (phase == "C") {  // a counter belongs to a process
      EXPECT_TRUE(event["name"].is_string()) << event;
      EXPECT_TRUE(event["args"]["read"].is_number()) << event;
      continue;
    }
    EXPECT_TRUE(event["tid"].is_number_unsigned()) << event;
    if (phase == "X") {
      EXPECT_TRUE(event["dur"].is_number()) << event;
    }
    if (phase == "i") {
      EXPECT_TRUE(event["s"] == "t" || event["s"] == "g") << event;
    }
    if (phase != "E") {
      EXPECT_TRUE(event["name"].is_string()) << event;
    }
  }
}

TEST(PerfettoWriter, AnAccessIsASliceOnItsThreadAndAnInstantOnItsMapping) {
  Timeline timeline = timeline_of({map_event(1, 0xfebf0000, 0x4000, 1000),
                                   access(EventKind::Write, 1, 0xfebf0014, 0x460001, 4, 2000)});
  const json& document = timeline.document;
  json write_slice;
  for (const json& slice : events_where(document, "X")) {
    if (slice["cat"] == "mmio") write_slice = slice;
  }
  ASSERT_FALSE(write_slice.is_null());
  EXPECT_EQ(write_slice["name"], "W 4 @0xfebf0014");
  EXPECT_EQ(write_slice["pid"], 10);
  EXPECT_EQ(write_slice["tid"], 10);
  EXPECT_DOUBLE_EQ(write_slice["ts"].get<double>(), 2.0);  // microseconds
  const json& args = write_slice["args"];
  EXPECT_EQ(args["kind"], "W");
  EXPECT_EQ(args["width"], 4);
  EXPECT_EQ(args["map"], 1);
  EXPECT_EQ(args["phys"], "0xfebf0014");
  EXPECT_EQ(args["value"], "0x460001");
  EXPECT_EQ(args["pc"], "0x401234");
  EXPECT_EQ(track_name(document, 10, std::nullopt), "PID 10");
  EXPECT_EQ(track_name(document, 10, 10), "TID 10");

  json on_mapping;
  for (const json& instant : events_where(document, "i")) {
    if (instant["pid"] == kMappingsPid) on_mapping = instant;
  }
  ASSERT_FALSE(on_mapping.is_null());
  EXPECT_EQ(on_mapping["tid"], kMappingsPid + 1);
  EXPECT_EQ(on_mapping["s"], "t");
  EXPECT_EQ(on_mapping["args"]["value"], "0x460001");
  EXPECT_EQ(track_name(document, kMappingsPid, std::nullopt), "mappings");
  EXPECT_EQ(track_name(document, kMappingsPid, kMappingsPid + 1),
            "map 1 @0xfebf0000 (0x4000 bytes)");
}

TEST(PerfettoWriter, OneTrackPerThreadAndPerMapping) {
  Timeline timeline = timeline_of({
      map_event(1, 0x1000, 0x1000, 100),
      map_event(2, 0x8000, 0x1000, 110),
      access(EventKind::Read, 1, 0x1000, 1, 4, 200, 10),
      access(EventKind::Read, 2, 0x8000, 2, 4, 210, 11),
      access(EventKind::Read, 1, 0x1004, 3, 4, 220, 12),
      access(EventKind::Read, 2, 0x8004, 4, 4, 230, 10),
  });
  std::set<uint64_t> thread_tracks;
  std::map<uint64_t, int> mapping_instants;
  for (const json& event : timeline.document["traceEvents"]) {
    if (event["ph"] == "X" && event["cat"] == "mmio")
      thread_tracks.insert(event["tid"].get<uint64_t>());
    if (event["ph"] == "i" && event["pid"] == kMappingsPid) mapping_instants[event["tid"]]++;
  }
  EXPECT_EQ(thread_tracks, (std::set<uint64_t>{10, 11, 12}));
  EXPECT_EQ(mapping_instants[kMappingsPid + 1], 2);
  EXPECT_EQ(mapping_instants[kMappingsPid + 2], 2);
  for (uint64_t tid : {10, 11, 12}) {
    EXPECT_EQ(track_name(timeline.document, 10, tid), "TID " + std::to_string(tid));
  }
}

TEST(PerfettoWriter, SlicesOfAThreadNeverOverlapAndLastAtMostAMicrosecond) {
  std::vector<Event> events = {map_event(1, 0, 0x1000, 0)};
  uint64_t times[] = {1000, 1300, 1301, 5000, 5000, 9000};
  for (uint64_t time : times)
    events.push_back(access(EventKind::Read, 1, 0, 0, 4, time));
  Timeline timeline = timeline_of(events);
  std::vector<std::pair<double, double>> slices;
  for (const json& slice : events_where(timeline.document, "X")) {
    if (slice["cat"] == "mmio") slices.emplace_back(slice["ts"], slice["dur"]);
  }
  ASSERT_EQ(slices.size(), 6u);
  EXPECT_DOUBLE_EQ(slices[0].second, 0.3);
  EXPECT_DOUBLE_EQ(slices[1].second, 0.001);
  EXPECT_DOUBLE_EQ(slices[2].second, 1.0);  // capped: the next access is 3.7 us later
  EXPECT_DOUBLE_EQ(slices[3].second, 0.0);  // two accesses in the same nanosecond
  for (size_t i = 0; i + 1 < slices.size(); ++i) {
    EXPECT_LE(slices[i].first + slices[i].second, slices[i + 1].first + 1e-9) << i;
  }
}

TEST(PerfettoWriter, TimestampsKeepEveryNanosecond) {
  Timeline timeline =
      timeline_of({map_event(1, 0, 0x1000, 0), access(EventKind::Read, 1, 0, 0, 4, 2430164737123)});
  EXPECT_NE(timeline.text.find("\"ts\":2430164737.123"), std::string::npos);
  EXPECT_EQ(timeline.document["metadata"]["ts_base_ns"], "0");
}

// What Perfetto's importer makes of a JSON "ts": the number as a double, times 1000, rounded.
int64_t imported_ns(const json& ts) {
  return std::llround(ts.get<double>() * 1000.0);
}

TEST(PerfettoWriter, TimestampsKeepEveryNanosecondThroughADoubleAtAnyUptime) {
  // Around 10^7 s of uptime a time in microseconds needs 16 digits with its nanoseconds, more
  // than a double holds: "ts" counts from a base that the metadata gives, exactly.
  for (uint64_t uptime_ns : {uint64_t{10'000'000} * 1'000'000'000 + 123'456'789,
                             uint64_t{123'456'789} * 1'000'000'000 + 987'654'321}) {
    std::vector<Event> events = {map_event(1, 0, 0x1000, uptime_ns)};
    for (uint64_t i = 0; i < 1000; ++i)
      events.push_back(access(EventKind::Write, 1, 0, i, 4, uptime_ns + 1 + i * 1001));
    Timeline timeline = timeline_of(events);
    uint64_t base = std::stoull(timeline.document["metadata"]["ts_base_ns"].get<std::string>());
    EXPECT_EQ(base % 1'000'000'000, 0u);
    EXPECT_LE(uptime_ns - base, kBaseMarginNs + 1'000'000'000);
    uint64_t slices = 0;
    for (const json& slice : events_where(timeline.document, "X")) {
      if (slice["cat"] != "mmio") continue;
      uint64_t value = std::stoull(slice["args"]["value"].get<std::string>(), nullptr, 16);
      EXPECT_EQ(base + static_cast<uint64_t>(imported_ns(slice["ts"])),
                uptime_ns + 1 + value * 1001)
          << slice;
      ++slices;
    }
    EXPECT_EQ(slices, 1000u);
    json begin = events_where(timeline.document, "B").at(0);
    EXPECT_EQ(base + static_cast<uint64_t>(imported_ns(begin["ts"])), uptime_ns);
  }
}

TEST(PerfettoWriter, AnEventBeforeTheBaseGetsANegativeTimestamp) {
  // A marker without a time (0) in a trace recorded at 10^5 s.
  Timeline timeline = timeline_of({map_event(1, 0, 0x1000, 100'000'000'000'000), mark("x", 0)});
  EXPECT_EQ(timeline.document["metadata"]["ts_base_ns"], "96400000000000");
  json marker = events_where(timeline.document, "i").at(0);
  EXPECT_EQ(imported_ns(marker["ts"]), -96'400'000'000'000);
}

TEST(PerfettoWriter, APolledRegisterBecomesACounterTrackOfItsReadValues) {
  std::vector<Event> events = {map_event(1, 0xfebf0000, 0x4000, 1000)};
  for (uint64_t i = 0; i < 6; ++i) {  // CSTS at 0x1c, read six times: polled
    events.push_back(access(EventKind::Read, 1, 0xfebf001c, i < 5 ? 0 : 1, 4, 2000 + i * 100));
  }
  for (uint64_t i = 0; i < kPolledReads - 1; ++i)  // read, but not often enough
    events.push_back(access(EventKind::Read, 1, 0xfebf0000, 7, 4, 3000 + i));
  for (uint64_t i = 0; i < 10; ++i)  // written, never read
    events.push_back(access(EventKind::Write, 1, 0xfebf0014, i, 4, 4000 + i));
  events.push_back(access(EventKind::Read, 2, 0x9000, 0xffffffffffffffff, 8, 5000));
  for (int i = 0; i < 4; ++i)  // no MAP: named by its address
    events.push_back(access(EventKind::Read, 2, 0x9000, 0xffffffffffffffff, 8, 5001 + i));
  Timeline timeline = timeline_of(events);
  std::map<std::string, std::vector<std::pair<double, json>>> counters;
  for (const json& counter : events_where(timeline.document, "C")) {
    EXPECT_EQ(counter["pid"], kMappingsPid);
    EXPECT_EQ(counter["cat"], "register");
    counters[counter["name"]].emplace_back(counter["ts"].get<double>(), counter["args"]["read"]);
  }
  ASSERT_EQ(counters.size(), 2u) << timeline.text;
  const auto& csts = counters["map 1 +0x1c"];
  ASSERT_EQ(csts.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_DOUBLE_EQ(csts[i].first, 2.0 + 0.1 * static_cast<double>(i));
    EXPECT_EQ(csts[i].second, i < 5 ? 0 : 1);
  }
  // A value beyond int64 is a double.
  const auto& wide = counters["map 2 @0x9000"];
  ASSERT_EQ(wide.size(), 5u);
  EXPECT_TRUE(wide[0].second.is_number_float());
}

TEST(PerfettoWriter, MemoryForCountersIsBoundedByTheRegistersItFollows) {
  std::string text;
  PerfettoWriter writer([&](std::string_view piece) { text.append(piece); }, "trace.bin");
  writer.write(map_event(1, 0, 0x100000, 0));
  uint64_t time = 1;
  for (uint64_t i = 0; i < kMaxReadRegisters; ++i)  // a buffer read through, once each
    writer.write(access(EventKind::Read, 1, i * 4, 0, 4, time++));
  for (int i = 0; i < 5; ++i) {  // one register more: not followed
    writer.write(access(EventKind::Read, 1, kMaxReadRegisters * 4, 0, 4, time++));
  }
  for (int i = 0; i < 3; ++i)  // one followed already: polled
    writer.write(access(EventKind::Read, 1, 8, 0, 4, time++));
  writer.finish();
  size_t counters = 0;
  for (size_t at = text.find("\"ph\":\"C\""); at != std::string::npos;
       at = text.find("\"ph\":\"C\"", at + 1)) {
    ++counters;
  }
  EXPECT_EQ(counters, 4u);
  EXPECT_NE(text.find("\"reads_without_counter\":5,"), std::string::npos);
}

TEST(PerfettoWriter, CountersAreNamedByRegisterWhenAMapOrTheDeviceNamesIt) {
  RegisterMapSet maps;
  maps.add_physical(parse_json_register_map(
      R"({"blocks": [{"name": "DEV", "base": "0xfebf0000", "registers": [
           {"name": "STATUS", "offset": "0x1c"}]}]})",
      "m.json"));
  std::vector<Event> events = {map_event(1, 0xfebf0000, 0x4000, 1000)};
  for (uint64_t i = 0; i < kPolledReads; ++i)
    events.push_back(access(EventKind::Read, 1, 0xfebf001c, i, 4, 2000 + i));
  EXPECT_EQ(events_where(timeline_of(events, &maps).document, "C").at(0)["name"],
            "map 1 DEV.STATUS");
  events.insert(events.begin() + 1, mark("device nvme@/dev/fake-nvme is map 1\n", 1000));
  EXPECT_EQ(events_where(timeline_of(events).document, "C").at(0)["name"], "map 1 CSTS");
}

TEST(PerfettoWriter, BookkeepingMarkersAreNoGlobalInstants) {
  Timeline timeline = timeline_of({
      map_event(1, 0xfebf0000, 0x4000, 1000),
      mark("device nvme@/dev/fake-nvme is map 1\n", 1000),
      mark("module 10 0x400000-0x401000 0x0 /usr/bin/driver\n", 1100),
      mark("pci 0000:00:10.0 config contents 0x0 86800010\n", 1200),
      mark("pci 0000:00:10.0 config write 0x4 0600\n", 1300),
      mark("vfio 0000:00:10.0 dma-unmap 0x100000 0x2000\n", 1350),
      mark("reset done\n", 1400),
  });
  std::vector<json> instants = events_where(timeline.document, "i");
  ASSERT_EQ(instants.size(), 3u) << timeline.text;
  // The program's write of the configuration space: an instant on its thread.
  EXPECT_EQ(instants[0]["s"], "t");
  EXPECT_EQ(instants[0]["pid"], 10);
  EXPECT_EQ(instants[0]["cat"], "pci-config");
  EXPECT_EQ(instants[0]["name"], "config write 0x4");
  EXPECT_EQ(instants[0]["args"]["bytes"], "0600");
  // A request to the emulated VFIO: an instant on its thread too.
  EXPECT_EQ(instants[1]["s"], "t");
  EXPECT_EQ(instants[1]["cat"], "vfio");
  EXPECT_EQ(instants[1]["name"], "vfio dma-unmap");
  EXPECT_EQ(instants[1]["args"]["values"], json::parse(R"(["0x100000", "0x2000"])"));
  // The user's marker, alone across every track.
  EXPECT_EQ(instants[2]["s"], "g");
  EXPECT_EQ(instants[2]["name"], "reset done ");
  // The device marker names the mapping's track; the modules are counted.
  EXPECT_EQ(track_name(timeline.document, kMappingsPid, kMappingsPid + 1),
            "map 1 @0xfebf0000 (0x4000 bytes) nvme@/dev/fake-nvme");
  EXPECT_EQ(timeline.document["metadata"]["modules"], 1);
}

TEST(PerfettoWriter, MarkersAndLostEventsAreGlobalInstants) {
  Event lost;
  lost.kind = EventKind::Lost;
  lost.length = 42;
  lost.pid = 10;
  lost.tid = 10;
  lost.time_ns = 7000;
  Timeline timeline = timeline_of({mark("phase \"two\"\n", 5000), lost});
  std::vector<json> instants = events_where(timeline.document, "i");
  ASSERT_EQ(instants.size(), 2u);
  EXPECT_EQ(instants[0]["s"], "g");
  EXPECT_EQ(instants[0]["cat"], "marker");
  EXPECT_EQ(instants[0]["name"], "phase \"two\" ");           // one line in the name
  EXPECT_EQ(instants[0]["args"]["text"], "phase \"two\"\n");  // all of it in the args
  EXPECT_EQ(instants[1]["cat"], "lost");
  EXPECT_EQ(instants[1]["name"], "LOST 42 events");
  EXPECT_EQ(instants[1]["args"]["count"], 42);
  EXPECT_EQ(timeline.document["metadata"]["lost_events"], 42);
}

TEST(PerfettoWriter, MarkerTextThatIsNotUtf8StaysValidJsonWithItsBytes) {
  Timeline timeline = timeline_of({mark(std::string("bad \xff\xfe byte"), 10)});
  json marker = events_where(timeline.document, "i").at(0);
  EXPECT_EQ(marker["args"]["text"], "bad \xef\xbf\xbd\xef\xbf\xbd byte");
  EXPECT_EQ(marker["args"]["text_bytes"], "62616420fffe2062797465");
}

TEST(PerfettoWriter, AMappingIsABeginEndPairOnItsTrack) {
  Timeline timeline = timeline_of({map_event(3, 0xfe000000, 0x100, 1000),
                                   access(EventKind::Read, 3, 0xfe000000, 5, 1, 1500),
                                   unmap_event(3, 2000), map_event(4, 0xfd000000, 0x100, 2500)});
  std::vector<json> begins = events_where(timeline.document, "B");
  std::vector<json> ends = events_where(timeline.document, "E");
  ASSERT_EQ(begins.size(), 2u);
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_EQ(begins[0]["tid"], kMappingsPid + 3);
  EXPECT_EQ(begins[0]["args"]["length"], "0x100");
  EXPECT_EQ(ends[0]["tid"], kMappingsPid + 3);
  EXPECT_DOUBLE_EQ(ends[0]["ts"].get<double>(), 2.0);
  EXPECT_EQ(ends[1]["tid"], kMappingsPid + 4);  // still mapped when the trace ends
  EXPECT_EQ(ends[1]["args"]["open_at_end"], true);
}

// A file of appended captures starts its map ids again in each: the second capture's map 1 is
// another mapping, with a track, a slice and a name of its own.
TEST(PerfettoWriter, AppendedCapturesKeepTheirMappingsApart) {
  Event segment;
  segment.kind = EventKind::Segment;
  Timeline timeline = timeline_of(
      {map_event(1, 0xfe000000, 0x100, 1000), access(EventKind::Read, 1, 0xfe000000, 5, 1, 1500),
       unmap_event(1, 2000), segment, map_event(1, 0xd0000000, 0x200, 3000, 20),
       access(EventKind::Write, 1, 0xd0000004, 6, 4, 3500, 20)});
  std::vector<json> begins = events_where(timeline.document, "B");
  std::vector<json> ends = events_where(timeline.document, "E");
  ASSERT_EQ(begins.size(), 2u);
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_EQ(begins[0]["tid"], kMappingsPid + 1);
  EXPECT_EQ(begins[1]["tid"], kLaterCaptureTids);
  EXPECT_EQ(ends[0]["tid"], kMappingsPid + 1);
  EXPECT_DOUBLE_EQ(ends[0]["ts"].get<double>(), 2.0);  // the second MAP 1 did not end it
  EXPECT_EQ(ends[1]["tid"], kLaterCaptureTids);
  EXPECT_EQ(ends[1]["args"]["open_at_end"], true);
  EXPECT_EQ(track_name(timeline.document, kMappingsPid, kMappingsPid + 1),
            "map 1 @0xfe000000 (0x100 bytes)");
  EXPECT_EQ(track_name(timeline.document, kMappingsPid, kLaterCaptureTids),
            "map 1 (capture 2) @0xd0000000 (0x200 bytes)");
  std::map<uint64_t, int> mapping_instants;
  for (const json& event : events_where(timeline.document, "i")) {
    if (event["pid"] == kMappingsPid) mapping_instants[event["tid"]]++;
  }
  EXPECT_EQ(mapping_instants[kMappingsPid + 1], 1);
  EXPECT_EQ(mapping_instants[kLaterCaptureTids], 1);
}

TEST(PerfettoWriter, UnknownIdsGetTracksOfTheirOwn) {
  // The text format carries no tids, a kernel log no pids.
  Event from_text = access(EventKind::Read, 1, 0, 0, 4, 100, 0, 33);
  Event from_kernel = access(EventKind::Read, 1, 0, 0, 4, 200, 0, 0);
  Timeline timeline = timeline_of({map_event(1, 0, 0x1000, 0), from_text, from_kernel});
  EXPECT_EQ(track_name(timeline.document, 33, kUnknownTidBase + 33), "thread unknown");
  EXPECT_EQ(track_name(timeline.document, kUnknownPid, std::nullopt), "PID unknown");
}

TEST(PerfettoWriter, WideValuesAndUnknownInstructionsBecomeArguments) {
  Event wide = access(EventKind::Write, 1, 0x40, 0, 16, 100);
  for (int i = 0; i < 16; ++i)
    wide.value[i] = static_cast<uint8_t>(i + 1);
  Event unknown;
  unknown.kind = EventKind::Unknown;
  unknown.map_id = 1;
  unknown.phys = 0x48;
  unknown.pc = 0x402000;
  unknown.insn_length = 3;
  unknown.insn[0] = 0x0f;
  unknown.insn[1] = 0x0b;
  unknown.insn[2] = 0x90;
  unknown.time_ns = 200;
  unknown.pid = unknown.tid = 10;
  Timeline timeline = timeline_of({map_event(1, 0, 0x1000, 0), wide, unknown});
  bool saw_wide = false, saw_unknown = false;
  for (const json& event : timeline.document["traceEvents"]) {
    if (event["ph"] == "X" && event["cat"] == "mmio") {
      EXPECT_EQ(event["args"]["value"], "0x100f0e0d0c0b0a090807060504030201");
      saw_wide = true;
    }
    if (event["ph"] == "i" && event["name"] == "UNKNOWN" && event["pid"] == 10) {
      EXPECT_EQ(event["args"]["insn"], "0f 0b 90");
      saw_unknown = true;
    }
  }
  EXPECT_TRUE(saw_wide);
  EXPECT_TRUE(saw_unknown);
}

TEST(PerfettoWriter, RegisterMapsNameTheSlices) {
  RegisterMapSet maps;
  maps.add_physical(parse_json_register_map(
      R"({"blocks": [{"name": "DEV", "base": "0xfebf0000", "registers": [
           {"name": "CTRL", "offset": "0x14", "fields": [{"name": "EN", "bits": "0"}]}]}]})",
      "m.json"));
  Timeline timeline = timeline_of(
      {map_event(1, 0xfebf0000, 0x4000, 1000), access(EventKind::Write, 1, 0xfebf0014, 1, 4, 2000),
       access(EventKind::Write, 1, 0xfebf0020, 1, 4, 3000)},
      &maps);
  std::vector<std::string> names;
  for (const json& slice : events_where(timeline.document, "X")) {
    if (slice["cat"] != "mmio") continue;
    names.push_back(slice["name"]);
    if (slice["name"] == "W DEV.CTRL") {
      EXPECT_EQ(slice["args"]["register"], "DEV.CTRL EN=0x1");
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"W DEV.CTRL", "W 4 @0xfebf0020"}));
}

TEST(PerfettoWriter, LargeTracesStreamInPieces) {
  std::vector<Event> events = {map_event(1, 0, 0x1000, 0)};
  for (uint64_t i = 0; i < 8000; ++i)
    events.push_back(access(EventKind::Read, 1, 0, i, 4, i * 10));
  Timeline timeline = timeline_of(events);
  EXPECT_GT(timeline.pieces, 2u);  // handed on about every MiB, not held to the end
  EXPECT_EQ(events_where(timeline.document, "X").size(), 8001u);
}

}  // namespace
}  // namespace mmiotrace::analysis
