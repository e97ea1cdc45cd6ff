// Unit tests for `dump --annotate`'s naming of accesses (analysis/annotator.hpp) and the device
// register names it shares with `report` (analysis/device_registers.hpp).
#include "analysis/annotator.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "analysis/device_registers.hpp"
#include "trace/markers.hpp"

namespace mmiotrace::analysis {
namespace {

// Whether the test device plugin is loaded in this process (model_catalog_test loads it).
bool test_plugin_loaded() {
  return dlopen(MMIOTRACE_TEST_DEVICE_PLUGIN, RTLD_NOW | RTLD_NOLOAD) != nullptr;
}

trace::Event map_event(int id, uint64_t phys) {
  trace::Event event;
  event.kind = trace::EventKind::Map;
  event.map_id = id;
  event.phys = phys;
  event.virt = 0x7f0000000000;
  event.length = 0x4000;
  return event;
}

trace::Event read_event(int id, uint64_t phys, unsigned width) {
  trace::Event event;
  event.kind = trace::EventKind::Read;
  event.map_id = id;
  event.phys = phys;
  event.width = static_cast<uint8_t>(width);
  event.value[0] = 1;
  return event;
}

trace::Event marker_event(const std::string& text) {
  trace::Event event;
  event.kind = trace::EventKind::Mark;
  event.text = text.data();
  event.text_length = static_cast<uint32_t>(text.size());
  return event;
}

TEST(DeviceRegisters, AnOffsetIsNamedByTheRegisterThatHoldsIt) {
  const mmiotrace_register* nvme = registers_of_trace_device("nvme@/dev/fake-nvme").registers;
  ASSERT_NE(nvme, nullptr);
  EXPECT_EQ(device_register_name(nvme, 0x1c, 4), "CSTS");
  EXPECT_EQ(device_register_name(nvme, 0x16, 2), "CC+2");
  EXPECT_EQ(device_register_name(nvme, 0x3000, 4), "offset 0x3000");
  EXPECT_EQ(device_register_name(nullptr, 0x1c, 4), "");
}

TEST(DeviceRegisters, ASpecThatDoesNotNameAKnownModelHasNoRegisters) {
  EXPECT_EQ(registers_of_trace_device("no-such-model@/dev/x").registers, nullptr);
  EXPECT_EQ(registers_of_trace_device("nvme").registers, nullptr);
}

TEST(DeviceRegisters, APluginThatATraceNamesIsNotLoaded) {
  bool loaded_before = test_plugin_loaded();
  TraceDeviceRegisters named =
      registers_of_trace_device(std::string(MMIOTRACE_TEST_DEVICE_PLUGIN) + "@/dev/fake");
  EXPECT_EQ(named.plugin, MMIOTRACE_TEST_DEVICE_PLUGIN);
  // The plugin names offset 0 "ID"; unloaded, every offset is named by its number.
  EXPECT_EQ(device_register_name(named.registers, 0x0, 4), "offset 0x0");
  if (!loaded_before) {
    EXPECT_FALSE(test_plugin_loaded()) << "a trace's device marker loaded it";
  }
}

TEST(Annotator, AccessesOfADeviceMappingEndWithTheirRegister) {
  RegisterMapSet none;
  Annotator annotator({}, none);
  std::string out;
  annotator.write(map_event(1, 0xfe000000), out);
  annotator.write(marker_event(trace::format_device_marker({"nvme@/dev/fake-nvme", 1})), out);
  annotator.write(read_event(1, 0xfe00001c, 4), out);
  annotator.write(read_event(1, 0xfe003000, 4), out);
  annotator.write(read_event(2, 0x1c, 4), out);  // no MAP for it: not named
  EXPECT_NE(out.find("0xfe00001c 0x1 0x0 0  ; CSTS\n"), std::string::npos) << out;
  EXPECT_NE(out.find("0xfe003000 0x1 0x0 0  ; offset 0x3000\n"), std::string::npos) << out;
  EXPECT_NE(out.find(" 0x1c 0x1 0x0 0\n"), std::string::npos) << out;
}

TEST(Annotator, AModelChosenForAMapWinsOverTheTracesMarker) {
  RegisterMapSet none;
  const mmiotrace_register* uart = registers_of_trace_device("uart16550@/dev/ttyFAKE").registers;
  ASSERT_NE(uart, nullptr);
  Annotator annotator({{1, uart}}, none);
  std::string out;
  annotator.write(map_event(1, 0), out);
  annotator.write(marker_event("device nvme@/dev/fake-nvme is map 1\n"), out);
  annotator.write(read_event(1, 0x5, 1), out);
  EXPECT_NE(out.find("  ; LSR\n"), std::string::npos) << out;
}

TEST(Annotator, APluginThatTheTraceNamesIsNotLoadedAndSaidSo) {
  bool loaded_before = test_plugin_loaded();
  RegisterMapSet none;
  Annotator annotator({}, none);
  std::string out;
  annotator.write(map_event(1, 0), out);
  annotator.write(
      marker_event(std::string("device ") + MMIOTRACE_TEST_DEVICE_PLUGIN + "@/dev/fake is map 1\n"),
      out);
  annotator.write(read_event(1, 0x0, 4), out);
  EXPECT_NE(out.find("  ; offset 0x0\n"), std::string::npos) << out;
  EXPECT_EQ(annotator.unloaded_plugins(),
            (std::map<int, std::string>{{1, MMIOTRACE_TEST_DEVICE_PLUGIN}}));
  if (!loaded_before) {
    EXPECT_FALSE(test_plugin_loaded()) << "a trace's device marker loaded it";
  }
}

TEST(Annotator, AWideAccessIsOneLinePerEightBytesEachNamed) {
  RegisterMapSet none;
  Annotator annotator({}, none);
  std::string out;
  annotator.write(map_event(1, 0), out);
  annotator.write(marker_event("device nvme@/dev/fake-nvme is map 1\n"), out);
  annotator.write(read_event(1, 0x0, 16), out);
  EXPECT_NE(out.find(" 0x0 0x1 0x0 0  ; CAP\n"), std::string::npos) << out;
  EXPECT_NE(out.find(" 0x8 0x0 0x0 0  ; VS\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace mmiotrace::analysis
