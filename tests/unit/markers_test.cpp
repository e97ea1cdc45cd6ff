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
  ModuleMarker module{4242, 0x55d0c0de0000, 0x55d0c0e01000, 0x55d0c0de0000,
                      "/opt/my driver/bin/drv"};
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
}

TEST(Markers, WhatIsNotAModuleMarkerIsNotTakenForOne) {
  for (const char* text :
       {"module 1 0x1-0x2 0x0", "module 1 0x1-0x2 0x0 ", "module x 0x1-0x2 0x0 /a",
        "module 1 1-0x2 0x0 /a", "module 1 0x1-0x2 0xg /a", "module -1 0x1-0x2 0x0 /a",
        "module 1 0x1 0x2 0x0 /a", "module 1 0x10000000000000000-0x2 0x0 /a",
        "modules 1 0x1-0x2 0x0 /a", "module 1 0x1-0x2 0x0 /a\n/b"}) {
    EXPECT_FALSE(parse_module_marker(text)) << text;
  }
}

}  // namespace
}  // namespace mmiotrace::trace
