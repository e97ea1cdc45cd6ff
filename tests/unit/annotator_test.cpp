// Unit tests for `dump --annotate`'s naming of accesses (analysis/annotator.hpp) and the device
// register names it shares with `report` (analysis/device_registers.hpp).
#include "analysis/annotator.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "analysis/device_registers.hpp"
#include "trace/markers.hpp"

namespace mmiotrace::analysis {
namespace {

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
  const mmiotrace_register* nvme = registers_of_device("nvme@/dev/fake-nvme");
  ASSERT_NE(nvme, nullptr);
  EXPECT_EQ(device_register_name(nvme, 0x1c, 4), "CSTS");
  EXPECT_EQ(device_register_name(nvme, 0x16, 2), "CC+2");
  EXPECT_EQ(device_register_name(nvme, 0x3000, 4), "offset 0x3000");
  EXPECT_EQ(device_register_name(nullptr, 0x1c, 4), "");
}

TEST(DeviceRegisters, ASpecThatDoesNotNameAKnownModelHasNoRegisters) {
  EXPECT_EQ(registers_of_device("no-such-model@/dev/x"), nullptr);
  EXPECT_EQ(registers_of_device("nvme"), nullptr);
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
  const mmiotrace_register* uart = registers_of_device("uart16550@/dev/ttyFAKE");
  ASSERT_NE(uart, nullptr);
  Annotator annotator({{1, uart}}, none);
  std::string out;
  annotator.write(map_event(1, 0), out);
  annotator.write(marker_event("device nvme@/dev/fake-nvme is map 1\n"), out);
  annotator.write(read_event(1, 0x5, 1), out);
  EXPECT_NE(out.find("  ; LSR\n"), std::string::npos) << out;
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
