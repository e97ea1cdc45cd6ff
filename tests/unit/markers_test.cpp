// Unit tests for the bookkeeping markers' codec (trace/markers.hpp): what the shim writes, the
// tools read back, and what they refuse to take for one.
#include "trace/markers.hpp"

#include <gtest/gtest.h>

namespace mmiotrace::trace {
namespace {

TEST(Markers, ADeviceMarkerReadsBackAsItWasWritten) {
  std::string text = format_device_marker({"nvme:dstrd=2@/dev/fake nvme", 12});
  EXPECT_EQ(text, "device nvme:dstrd=2@/dev/fake nvme is map 12\n");
  std::optional<DeviceMarker> marker = parse_device_marker(text);
  ASSERT_TRUE(marker);
  EXPECT_EQ(marker->spec, "nvme:dstrd=2@/dev/fake nvme");
  EXPECT_EQ(marker->map_id, 12);
  // The newline is optional: text logs keep it, binary traces may not.
  EXPECT_TRUE(parse_device_marker("device regfile@/dev/x is map 1"));
}

TEST(Markers, WhatIsNotADeviceMarkerIsNotTakenForOne) {
  for (const char* text :
       {"device  is map 1", "device x@/y is map", "device x@/y is map 0", "device x@/y is map -3",
        "device x@/y is map 1x", "device x@/y", "devices x@/y is map 1",
        "device x@/y is map 99999999999", "device x\n@/y is map 1", "hello"}) {
    EXPECT_FALSE(parse_device_marker(text)) << text;
  }
}

TEST(Markers, AModuleMarkerReadsBackAsItWasWritten) {
  ModuleMarker module{4242,           0x55d0c0de0000,           0x55d0c0e01000,
                      0x55d0c0de0000, "/opt/my driver/bin/drv", ""};
  std::string text = format_module_marker(module);
  EXPECT_EQ(text,
            "module 4242 0x55d0c0de0000-0x55d0c0e01000 0x55d0c0de0000 /opt/my driver/bin/drv\n");
  std::optional<ModuleMarker> marker = parse_module_marker(text);
  ASSERT_TRUE(marker);
  EXPECT_EQ(marker->pid, 4242);
  EXPECT_EQ(marker->lowest, 0x55d0c0de0000u);
  EXPECT_EQ(marker->highest, 0x55d0c0e01000u);
  EXPECT_EQ(marker->base, 0x55d0c0de0000u);
  EXPECT_EQ(marker->path, "/opt/my driver/bin/drv");
  EXPECT_TRUE(marker->build_id.empty());
}

TEST(Markers, AModuleMarkerCarriesTheFilesBuildId) {
  ModuleMarker module{
      7, 0x1000, 0x3000, 0x1000, "/usr/lib/libx.so.1", std::string("\x9f\x00\xe1\x2c", 4)};
  std::string text = format_module_marker(module);
  EXPECT_EQ(text, "module 7 0x1000-0x3000 0x1000 build-id=9f00e12c /usr/lib/libx.so.1\n");
  std::optional<ModuleMarker> marker = parse_module_marker(text);
  ASSERT_TRUE(marker);
  EXPECT_EQ(marker->build_id, module.build_id);
  EXPECT_EQ(marker->path, "/usr/lib/libx.so.1");
  // Uppercase digits are read too; a path of its own after the build ID is kept whole.
  marker = parse_module_marker("module 7 0x1000-0x3000 0x1000 build-id=9F00 /a b");
  ASSERT_TRUE(marker);
  EXPECT_EQ(marker->build_id, std::string("\x9f\x00", 2));
  EXPECT_EQ(marker->path, "/a b");
}

TEST(Markers, WhatIsNotAModuleMarkerIsNotTakenForOne) {
  for (const char* text :
       {"module 1 0x1-0x2 0x0", "module 1 0x1-0x2 0x0 ", "module x 0x1-0x2 0x0 /a",
        "module 1 1-0x2 0x0 /a", "module 1 0x1-0x2 0xg /a", "module -1 0x1-0x2 0x0 /a",
        "module 1 0x1 0x2 0x0 /a", "module 1 0x10000000000000000-0x2 0x0 /a",
        "modules 1 0x1-0x2 0x0 /a", "module 1 0x1-0x2 0x0 /a\n/b",
        "module 1 0x1-0x2 0x0 build-id= /a", "module 1 0x1-0x2 0x0 build-id=abc /a",
        "module 1 0x1-0x2 0x0 build-id=zz /a", "module 1 0x1-0x2 0x0 build-id=ab",
        "module 1 0x1-0x2 0x0 build-id=ab "}) {
    EXPECT_FALSE(parse_module_marker(text)) << text;
  }
}

TEST(Markers, AnArchitectureMarkerReadsBackAsItWasWritten) {
  std::string text = format_architecture_marker({4242, "aarch64"});
  EXPECT_EQ(text, "arch 4242 aarch64\n");
  std::optional<ArchitectureMarker> marker = parse_architecture_marker(text);
  ASSERT_TRUE(marker);
  EXPECT_EQ(marker->pid, 4242);
  EXPECT_EQ(marker->name, "aarch64");
  marker = parse_architecture_marker("arch 1 x86_64");
  ASSERT_TRUE(marker);
  EXPECT_EQ(marker->name, "x86_64");
  for (const char* bad :
       {"arch 1", "arch 1 ", "arch x x86_64", "arch -1 x86_64", "arch 1 X86", "arch 1 x86 64",
        "arch 1 aarch64\nmore", "archs 1 x86_64", "arch 1 0123456789012345678901234567890123"}) {
    EXPECT_FALSE(parse_architecture_marker(bad)) << bad;
  }
}

TEST(Markers, APciConfigMarkerReadsBackAsItWasWritten) {
  PciConfigMarker written{"0000:00:10.0", "write", 0x18, std::string("\xff\xff\x00\xe0", 4)};
  std::string text = format_pci_config_marker(written);
  EXPECT_EQ(text, "pci 0000:00:10.0 config write 0x18 ffff00e0\n");
  std::optional<PciConfigMarker> marker = parse_pci_config_marker(text);
  ASSERT_TRUE(marker);
  EXPECT_EQ(marker->function, "0000:00:10.0");
  EXPECT_EQ(marker->kind, "write");
  EXPECT_EQ(marker->offset, 0x18u);
  EXPECT_EQ(marker->bytes, written.bytes);
  for (const char* bad : {"pci 0000:00:10.0 config read 0x0 abc", "pci  config read 0x0 00",
                          "pci 0000:00:10.0 config read 18 00", "pci 0000:00:10.0 read 0x0 00",
                          "pci 0000:00:10.0 config read 0x0 zz",
                          // Past the 4 KiB of a configuration space: replay would allocate it.
                          "pci 0000:00:10.0 config contents 0xfffffff0 00",
                          "pci 0000:00:10.0 config contents 0xfff 0000"}) {
    EXPECT_FALSE(parse_pci_config_marker(bad)) << bad;
  }
}

TEST(Markers, AVfioMarkerReadsBackAsItWasWritten) {
  VfioMarker written{"0000:3a:00.0", "dma-map", {0x100000, 0x2000, 0x7f0000001000, 3}};
  std::string text = format_vfio_marker(written);
  EXPECT_EQ(text, "vfio 0000:3a:00.0 dma-map 0x100000 0x2000 0x7f0000001000 0x3\n");
  std::optional<VfioMarker> marker = parse_vfio_marker(text);
  ASSERT_TRUE(marker);
  EXPECT_EQ(marker->subject, "0000:3a:00.0");
  EXPECT_EQ(marker->action, "dma-map");
  EXPECT_EQ(marker->values, written.values);
  std::optional<VfioMarker> reset = parse_vfio_marker("vfio 0000:3a:00.0 reset");
  ASSERT_TRUE(reset);
  EXPECT_EQ(reset->action, "reset");
  EXPECT_TRUE(reset->values.empty());
  for (const char* bad : {"vfio  reset", "vfio 0000:3a:00.0", "vfio device unimplemented 3b6e",
                          "vfio device unimplemented 0x", "pci device unimplemented 0x1"}) {
    EXPECT_FALSE(parse_vfio_marker(bad)) << bad;
  }
}

}  // namespace
}  // namespace mmiotrace::trace
