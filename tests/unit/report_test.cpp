// Unit tests for `mmiotrace report`'s summary: per register counts, distinct values, times and
// instructions; per thread; UNKNOWN, LOST and accesses outside every mapping; device register
// names; bookkeeping markers left out of the markers; and the names of PCs from module markers.
#include "analysis/report.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <link.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "analysis/device_registers.hpp"

namespace mmiotrace::analysis {
namespace {

trace::Event map_event(int id, uint64_t phys, uint64_t length) {
  trace::Event event;
  event.kind = trace::EventKind::Map;
  event.map_id = id;
  event.phys = phys;
  event.virt = 0x7f0000000000;
  event.length = length;
  event.pid = 10;
  return event;
}

trace::Event access(trace::EventKind kind, int map, uint64_t phys, uint64_t value, uint64_t time,
                    uint64_t pc, int tid = 10) {
  trace::Event event;
  event.kind = kind;
  event.map_id = map;
  event.phys = phys;
  event.width = 4;
  std::memcpy(event.value, &value, 4);
  event.time_ns = time;
  event.pc = pc;
  event.pid = 10;
  event.tid = tid;
  return event;
}

trace::Event mark(const std::string& text) {
  static std::string kept;
  kept = text;
  trace::Event event;
  event.kind = trace::EventKind::Mark;
  event.text = kept.c_str();
  event.text_length = static_cast<uint32_t>(kept.size());
  return event;
}

std::string text_of(ReportBuilder& builder, RegisterMapSet* register_maps = nullptr) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  write_report_text(builder.report(), builder.symbolizer(), "t.txt", out, register_maps);
  fclose(out);
  std::string text(buffer, size);
  free(buffer);
  return text;
}

nlohmann::json json_of(ReportBuilder& builder, RegisterMapSet* register_maps = nullptr) {
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  write_report_json(builder.report(), builder.symbolizer(), "t.txt", out, register_maps);
  fclose(out);
  nlohmann::json json = nlohmann::json::parse(std::string(buffer, size));
  free(buffer);
  return json;
}

TEST(Report, SummarizesEachRegisterOfEachMapping) {
  ReportBuilder builder;
  builder.add(map_event(1, 0xfe000000, 0x1000));
  builder.add(access(trace::EventKind::Write, 1, 0xfe000014, 0x460001, 1000, 0x401000));
  for (int i = 0; i < 5; ++i) {
    builder.add(
        access(trace::EventKind::Read, 1, 0xfe00001c, i < 4 ? 0 : 1, 2000 + i, 0x401010, 11));
  }
  const Report& report = builder.report();
  EXPECT_EQ(report.reads, 5u);
  EXPECT_EQ(report.writes, 1u);
  const MappingSummary& mapping = report.mappings.at({0, 1});
  EXPECT_EQ(mapping.accesses, 6u);
  const RegisterSummary& status = mapping.registers.at(0x1c);
  EXPECT_EQ(status.reads, 5u);
  EXPECT_EQ(status.values, (std::vector<std::string>{"0x0", "0x1"}));
  EXPECT_EQ(status.first_ns, 2000u);
  EXPECT_EQ(status.last_ns, 2004u);
  ASSERT_EQ(status.pcs.size(), 1u);
  EXPECT_EQ(status.pcs[0].second, 5u);
  EXPECT_EQ(report.threads.at({10, 10}).writes, 1u);
  EXPECT_EQ(report.threads.at({10, 11}).reads, 5u);
  nlohmann::json json = json_of(builder);
  EXPECT_EQ(json["mappings"][0]["registers"][1]["offset"], "0x1c");
  EXPECT_EQ(json["mappings"][0]["registers"][1]["reads"], 5);
  EXPECT_EQ(json["threads"].size(), 2u);
}

TEST(Report, KeepsABoundedNumberOfValuesAndInstructionsPerRegister) {
  ReportBuilder builder;
  builder.add(map_event(1, 0, 0x1000));
  for (uint64_t i = 0; i < 1000; ++i) {
    builder.add(access(trace::EventKind::Write, 1, 0x0, i, i, 0x401000 + i));
  }
  const RegisterSummary& reg = builder.report().mappings.at({0, 1}).registers.at(0);
  EXPECT_EQ(reg.writes, 1000u);
  EXPECT_EQ(reg.values.size(), kMaxValuesKept);
  EXPECT_TRUE(reg.more_values);
  EXPECT_EQ(reg.pcs.size(), kMaxPcsKept);
  EXPECT_TRUE(reg.more_pcs);
  EXPECT_NE(text_of(builder).find("values (more than 8)"), std::string::npos);
}

TEST(Report, UnknownLostAndStrayAccessesAreStatedLoudly) {
  ReportBuilder builder;
  trace::Event unknown;
  unknown.kind = trace::EventKind::Unknown;
  builder.add(unknown);
  trace::Event lost;
  lost.kind = trace::EventKind::Lost;
  lost.length = 42;
  builder.add(lost);
  builder.add(access(trace::EventKind::Read, 9, 0x10, 0, 5, 0x1));  // map 9 was never opened
  std::string text = text_of(builder);
  EXPECT_NE(text.find("!!! 1 UNKNOWN accesses"), std::string::npos) << text;
  EXPECT_NE(text.find("!!! 42 events LOST"), std::string::npos) << text;
  EXPECT_NE(text.find("!!! 1 accesses of mappings whose MAP is not in the trace"),
            std::string::npos)
      << text;
  nlohmann::json json = json_of(builder);
  EXPECT_EQ(json["unknown"], 1);
  EXPECT_EQ(json["lost"], 42);
}

// Two captures appended to one file: each numbers its mappings from 1, and map 1 of the second
// is not map 1 of the first.
TEST(Report, CapturesAppendedToOneFileKeepTheirMappingsApart) {
  ReportBuilder builder;
  builder.add(map_event(1, 0xfd000000, 0x1000));
  builder.add(access(trace::EventKind::Write, 1, 0xfd000010, 5, 1000, 0x401000));
  trace::Event segment;
  segment.kind = trace::EventKind::Segment;
  builder.add(segment);
  builder.add(map_event(1, 0xfe000000, 0x2000));
  builder.add(access(trace::EventKind::Read, 1, 0xfe000020, 7, 2000, 0x401000));
  builder.add(access(trace::EventKind::Read, 1, 0xfe000020, 7, 3000, 0x401000));
  const Report& report = builder.report();
  ASSERT_EQ(report.mappings.size(), 2u);
  EXPECT_EQ(report.captures, 2);
  EXPECT_EQ(report.mappings.at({0, 1}).phys, 0xfd000000u);
  EXPECT_EQ(report.mappings.at({0, 1}).accesses, 1u);
  EXPECT_EQ(report.mappings.at({1, 1}).phys, 0xfe000000u);
  EXPECT_EQ(report.mappings.at({1, 1}).accesses, 2u);
  EXPECT_EQ(report.outside, 0u);
  std::string text = text_of(builder);
  EXPECT_NE(text.find("map 1 (capture 1): phys 0xfd000000"), std::string::npos) << text;
  EXPECT_NE(text.find("map 1 (capture 2): phys 0xfe000000"), std::string::npos) << text;
}

TEST(Report, RegistersOfADeviceAreNamedAfterItsModel) {
  ReportBuilder builder;
  builder.add(map_event(1, 0, 0x4000));
  builder.add(mark("device nvme:delay_ms=1@/dev/fake-nvme is map 1\n"));
  builder.add(access(trace::EventKind::Read, 1, 0x1c, 1, 5, 0x1));
  builder.add(access(trace::EventKind::Read, 1, 0x3000, 1, 6, 0x1));  // no register there
  EXPECT_EQ(builder.report().mappings.at({0, 1}).device, "nvme:delay_ms=1@/dev/fake-nvme");
  std::string text = text_of(builder);
  EXPECT_NE(text.find(" CSTS "), std::string::npos) << text;
  // As `dump --annotate` names it (analysis/device_registers.hpp).
  EXPECT_NE(text.find(" offset 0x3000 "), std::string::npos) << text;
  EXPECT_EQ(json_of(builder)["mappings"][0]["registers"][0]["register"], "CSTS");
  EXPECT_EQ(json_of(builder)["mappings"][0]["registers"][1]["register"], "offset 0x3000");
}

TEST(Report, APluginThatTheTraceNamesIsNotLoaded) {
  bool loaded_before = dlopen(MMIOTRACE_TEST_DEVICE_PLUGIN, RTLD_NOW | RTLD_NOLOAD) != nullptr;
  ReportBuilder builder;
  builder.add(map_event(1, 0, 0x1000));
  builder.add(
      mark(std::string("device ") + MMIOTRACE_TEST_DEVICE_PLUGIN + "@/dev/fake is map 1\n"));
  builder.add(access(trace::EventKind::Read, 1, 0x0, 1, 5, 0x1));
  EXPECT_EQ(builder.unloaded_plugins(),
            (std::map<int, std::string>{{1, MMIOTRACE_TEST_DEVICE_PLUGIN}}));
  EXPECT_EQ(json_of(builder)["mappings"][0]["registers"][0]["register"], "offset 0x0");
  if (!loaded_before) {
    EXPECT_EQ(dlopen(MMIOTRACE_TEST_DEVICE_PLUGIN, RTLD_NOW | RTLD_NOLOAD), nullptr)
        << "a trace's device marker loaded the plugin";
  }
}

TEST(Report, AModelChosenForAMapWinsOverTheTracesMarker) {
  const mmiotrace_register* uart = registers_of_trace_device("uart16550@/dev/ttyS9").registers;
  ReportBuilder builder({{1, uart}});
  builder.add(map_event(1, 0, 0x1000));
  builder.add(mark("device nvme@/dev/fake-nvme is map 1\n"));
  builder.add(access(trace::EventKind::Read, 1, 0x5, 1, 5, 0x1));
  EXPECT_EQ(json_of(builder)["mappings"][0]["registers"][0]["register"], "LSR");
}

TEST(Report, JsonKeepsBytesThatAreNotUtf8AsReplacementCharacters) {
  ReportBuilder builder;
  builder.add(map_event(1, 0, 0x4000));
  builder.add(mark("device nvme@/dev/fake-\xff\xfe is map 1\n"));
  builder.add(mark("module 10 0x7f0000000000-0x7f0000001000 0x7f0000000000 /opt/lib\xffx.so\n"));
  builder.add(access(trace::EventKind::Read, 1, 0x1c, 1, 5, 0x7f0000000010));
  nlohmann::json json = json_of(builder);  // nlohmann's own writer threw type_error.316 here
  EXPECT_EQ(json["mappings"][0]["device"], "nvme@/dev/fake-\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_NE(json.dump().find("\"lib\xef\xbf\xbdx.so+0x10\""), std::string::npos) << json.dump();
}

TEST(Report, RegisterMapsNameRegistersBeforeTheDeviceModel) {
  ReportBuilder builder;
  builder.add(map_event(1, 0xfe000000, 0x4000));
  builder.add(mark("device nvme@/dev/fake-nvme is map 1\n"));
  builder.add(access(trace::EventKind::Read, 1, 0xfe00001c, 1, 5, 0x1));
  trace::Event high_half = access(trace::EventKind::Write, 1, 0xfe000016, 1, 6, 0x1);
  high_half.width = 2;  // CC's upper 16 bits
  builder.add(high_half);
  builder.add(access(trace::EventKind::Read, 1, 0xfe000008, 1, 7, 0x1));  // not in the map
  RegisterMapSet maps;
  maps.add_for_mapping(1,
                       parse_yaml_register_map(
                           "blocks:\n  - name: NVME\n    registers:\n"
                           "      - {name: CSTS, offset: 0x1c}\n      - {name: CC, offset: 0x14}\n",
                           "m.yaml"));
  std::string text = text_of(builder, &maps);
  EXPECT_NE(text.find(" NVME.CSTS "), std::string::npos) << text;
  EXPECT_NE(text.find(" NVME.CC+2 "), std::string::npos) << text;
  EXPECT_NE(text.find(" VS "), std::string::npos) << "the model names what the map does not";
  nlohmann::json json = json_of(builder, &maps);
  EXPECT_EQ(json["mappings"][0]["registers"][2]["register"], "NVME.CSTS");
}

TEST(Report, BookkeepingMarkersAreNotCountedAsMarkers) {
  ReportBuilder builder;
  builder.add(map_event(1, 0xfe000000, 0x1000));
  builder.add(mark("device nvme@/dev/fake-nvme is map 1\n"));
  builder.add(mark("module 10 0x400000-0x401000 0x0 /usr/bin/driver\n"));
  builder.add(mark("pci 0000:00:10.0 config contents 0x0 86800010\n"));
  builder.add(mark("pci 0000:00:10.0 config read 0x4 0600\n"));
  builder.add(mark("pci 0000:00:10.0 config write 0x4 0700\n"));
  builder.add(mark("vfio 0000:00:10.0 reset\n"));
  builder.add(mark("vfio 0000:00:10.0 dma-map 0x100000 0x2000 0x7f0000001000 0x3\n"));
  builder.add(mark("reset done\n"));
  builder.add(mark("module is what I call my device\n"));  // not a module marker: the user's
  EXPECT_EQ(builder.report().marks, 2u);
  EXPECT_EQ(builder.report().pci_config_accesses, 2u);
  EXPECT_EQ(builder.report().vfio_requests, 2u);
  EXPECT_NE(text_of(builder).find("  2 requests to the emulated VFIO\n"), std::string::npos);
  EXPECT_NE(text_of(builder).find(" 2 markers, "), std::string::npos) << text_of(builder);
  EXPECT_NE(text_of(builder).find("  2 accesses to the configuration space"), std::string::npos);
  nlohmann::json json = json_of(builder);
  EXPECT_EQ(json["markers"], 2);
  EXPECT_EQ(json["pci_config_accesses"], 2);
  EXPECT_EQ(json["vfio_requests"], 2);
  EXPECT_EQ(json["mappings"][0]["device"], "nvme@/dev/fake-nvme");
}

// Each process's architecture marker is bookkeeping: the report says which instruction sets
// the trace's processes ran, and a trace without any says nothing (it is x86-64's).
TEST(Report, ArchitectureMarkersNameEachProcesssInstructionSet) {
  ReportBuilder one;
  one.add(mark("arch 10 aarch64\n"));
  one.add(mark("arch 11 aarch64\n"));
  EXPECT_EQ(one.report().marks, 0u);
  EXPECT_NE(text_of(one).find("\n  architecture: aarch64\n"), std::string::npos) << text_of(one);
  EXPECT_EQ(json_of(one)["architectures"], (nlohmann::json{{"10", "aarch64"}, {"11", "aarch64"}}));
  ReportBuilder two;
  two.add(mark("arch 7 x86_64\n"));
  two.add(mark("arch 8 aarch64\n"));
  two.add(mark("arch 9 aarch64\n"));
  EXPECT_NE(text_of(two).find("\n  architectures: x86_64 (pid 7), aarch64 (pids 8, 9)\n"),
            std::string::npos)
      << text_of(two);
  ReportBuilder none;
  none.add(map_event(1, 0xfe000000, 0x1000));
  EXPECT_EQ(text_of(none).find("architecture"), std::string::npos);
  EXPECT_FALSE(json_of(none).contains("architectures"));
}

// The test binary's own main() stands in for a traced program's code.
TEST(Report, PcsAreNamedFromModuleMarkers) {
  Symbolizer symbolizer;
  char self[4096];
  ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  ASSERT_GT(length, 0);
  self[length] = '\0';
  Dl_info info;
  ASSERT_NE(dladdr(reinterpret_cast<void*>(&text_of), &info), 0);
  auto base = reinterpret_cast<uint64_t>(info.dli_fbase);
  auto function = reinterpret_cast<uint64_t>(&text_of);
  char marker[4400];
  snprintf(marker, sizeof(marker), "module 77 0x%llx-0x%llx 0x%llx %s\n",
           static_cast<unsigned long long>(base), static_cast<unsigned long long>(function + 4096),
           static_cast<unsigned long long>(base), self);
  ASSERT_TRUE(symbolizer.add_marker(marker));
  EXPECT_FALSE(symbolizer.add_marker("device x is map 1"));
  std::string name = symbolizer.name(77, function + 1);
  std::string file = std::string(self).substr(std::string(self).rfind('/') + 1);
  char offset[32];
  snprintf(offset, sizeof(offset), "+0x%llx", static_cast<unsigned long long>(function + 1 - base));
  EXPECT_EQ(name.rfind(file + offset, 0), 0u) << name;
  EXPECT_NE(name.find("text_of"), std::string::npos) << "the function's symbol: " << name;
  // Another process without markers of its own runs the same code (a forked child).
  EXPECT_EQ(symbolizer.name(78, function + 1), name);
  EXPECT_EQ(symbolizer.name(77, 0x10), "0x10");
  EXPECT_TRUE(symbolizer.warnings().empty());
}

// The test binary's own build ID, from its loaded notes: the first module dl_iterate_phdr gives.
std::string own_build_id() {
  std::string found;
  dl_iterate_phdr(
      [](struct dl_phdr_info* info, size_t, void* data) {
        auto& id = *static_cast<std::string*>(data);
        for (int i = 0; i < info->dlpi_phnum && id.empty(); ++i) {
          const ElfW(Phdr)& segment = info->dlpi_phdr[i];
          if (segment.p_type != PT_NOTE) continue;
          const auto* notes = reinterpret_cast<const char*>(info->dlpi_addr + segment.p_vaddr);
          size_t align = segment.p_align == 8 ? 8 : 4;
          for (size_t at = 0; at + sizeof(ElfW(Nhdr)) <= segment.p_memsz;) {
            ElfW(Nhdr) header;
            std::memcpy(&header, notes + at, sizeof(header));
            size_t desc = at + sizeof(header) + ((header.n_namesz + align - 1) & ~(align - 1));
            if (header.n_type == NT_GNU_BUILD_ID) {
              id.assign(notes + desc, header.n_descsz);
              break;
            }
            at = desc + ((header.n_descsz + align - 1) & ~(align - 1));
          }
        }
        return 1;  // the program only
      },
      &found);
  return found;
}

std::string hex(const std::string& bytes) {
  std::string text;
  char digits[3];
  for (char c : bytes) {
    snprintf(digits, sizeof(digits), "%02x", static_cast<unsigned char>(c));
    text += digits;
  }
  return text;
}

// A module marker for this test binary, with the build ID `build_id` (hex), naming text_of().
std::string own_module_marker(int pid, const std::string& build_id) {
  char self[4096];
  ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  self[length > 0 ? length : 0] = '\0';
  Dl_info info;
  dladdr(reinterpret_cast<void*>(&text_of), &info);
  auto base = reinterpret_cast<uint64_t>(info.dli_fbase);
  auto function = reinterpret_cast<uint64_t>(&text_of);
  char marker[4400];
  snprintf(marker, sizeof(marker), "module %d 0x%llx-0x%llx 0x%llx build-id=%s %s\n", pid,
           static_cast<unsigned long long>(base), static_cast<unsigned long long>(function + 4096),
           static_cast<unsigned long long>(base), build_id.c_str(), self);
  return marker;
}

// A program traced under qemu-aarch64 has its PCs named from its AArch64 ELF file, on this
// machine, as an x86-64 program's are (elfutils reads either).
TEST(Report, PcsOfAnAarch64ProgramAreNamedFromItsElfFile) {
#ifndef MMIOTRACE_ARM64_SYMBOLS
  GTEST_SKIP() << "no AArch64 cross compiler (gcc-aarch64-linux-gnu): no AArch64 program to name";
#else
  const std::string program = MMIOTRACE_ARM64_SYMBOLS;
  std::ifstream symbols(program + ".nm");
  uint64_t poke_register = 0;
  for (std::string line; std::getline(symbols, line);) {
    if (line.size() > 19 && line.compare(16, 3, " T ") == 0 && line.substr(19) == "poke_register")
      poke_register = std::stoull(line.substr(0, 16), nullptr, 16);
  }
  ASSERT_NE(poke_register, 0u) << "no poke_register in " << program << ".nm";
  ReportBuilder builder;
  builder.add(mark("arch 77 aarch64\n"));
  // Linked without PIE: loaded where its file says, at a load bias of 0.
  builder.add(mark("module 77 0x400000-0x500000 0x0 " + program + "\n"));
  // The store to the register is poke_register's first instruction (line 7), its return the
  // second (line 8).
  std::string name = builder.symbolizer().name(77, poke_register);
  EXPECT_EQ(name.rfind("arm64_symbols+0x", 0), 0u) << name;
  EXPECT_NE(name.find(" (poke_register) at arm64_symbols.c:7"), std::string::npos) << name;
  name = builder.symbolizer().name(77, poke_register + 4);
  EXPECT_NE(name.find(" (poke_register+0x4) at arm64_symbols.c:8"), std::string::npos) << name;
#endif
}

TEST(Report, PcsOfTheRecordedBuildAreNamedWithTheirSourceLine) {
  std::string build_id = own_build_id();
  ASSERT_FALSE(build_id.empty()) << "the test binary has no build ID note";
  Symbolizer symbolizer;
  ASSERT_TRUE(symbolizer.add_marker(own_module_marker(77, hex(build_id))));
  std::string name = symbolizer.name(77, reinterpret_cast<uint64_t>(&text_of) + 1);
  EXPECT_NE(name.find("text_of"), std::string::npos) << "the function's symbol: " << name;
  EXPECT_TRUE(std::regex_search(name, std::regex(R"(\) at report_test\.cpp:\d+$)"))) << name;
  EXPECT_TRUE(symbolizer.warnings().empty());
}

TEST(Report, AFileOfAnotherBuildNamesNoFunctionsAndIsWarnedOf) {
  Symbolizer symbolizer;
  ASSERT_TRUE(symbolizer.add_marker(own_module_marker(77, "00112233445566778899")));
  ASSERT_TRUE(symbolizer.add_marker(own_module_marker(78, "00112233445566778899")));
  auto function = reinterpret_cast<uint64_t>(&text_of);
  Dl_info info;
  ASSERT_NE(dladdr(reinterpret_cast<void*>(&text_of), &info), 0);
  char offset[32];
  snprintf(offset, sizeof(offset), "+0x%llx",
           static_cast<unsigned long long>(function - reinterpret_cast<uint64_t>(info.dli_fbase)));
  std::string self = std::filesystem::read_symlink("/proc/self/exe").filename();
  EXPECT_EQ(symbolizer.name(77, function), self + offset);
  EXPECT_EQ(symbolizer.name(78, function + 2).find('('), std::string::npos);
  ASSERT_EQ(symbolizer.warnings().size(), 1u) << "once per file";
  EXPECT_NE(symbolizer.warnings()[0].find(": build ID " + hex(own_build_id()) +
                                          ", the trace recorded 00112233445566778899: another "
                                          "build of the file; its functions are not named"),
            std::string::npos)
      << symbolizer.warnings()[0];
}

}  // namespace
}  // namespace mmiotrace::analysis
