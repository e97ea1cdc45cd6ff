// Unit tests for preload/physical_address: the physical address the trace gives each mapped
// file, read from a stand-in sysfs.
#include "preload/physical_address.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace mmiotrace::preload {
namespace {

namespace fs = std::filesystem;

class PhysicalAddressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sysfs_ = fs::temp_directory_path() / ("mmiotrace-sysfs-" + std::to_string(getpid()));
    fs::create_directories(sysfs_ / "devices/pci0000:00/0000:00:02.0");
    std::ofstream(sysfs_ / "devices/pci0000:00/0000:00:02.0/resource")
        << "0x00000000fd000000 0x00000000fdffffff 0x0000000000040200\n"
           "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
           "0x00000000fe000000 0x00000000fe003fff 0x0000000000140204\n";
    fs::create_directories(sysfs_ / "bus/pci/devices");
    fs::create_directory_symlink(sysfs_ / "devices/pci0000:00/0000:00:02.0",
                                 sysfs_ / "bus/pci/devices/0000:00:02.0");
    fs::create_directories(sysfs_ / "class/uio/uio3/maps/map1");
    std::ofstream(sysfs_ / "class/uio/uio3/maps/map1/addr") << "0xfebd0000\n";
  }
  void TearDown() override { fs::remove_all(sysfs_); }

  uint64_t physical(const std::string& path, uint64_t offset) {
    return physical_address(path, offset, sysfs_.string());
  }
  fs::path sysfs_;
};

TEST_F(PhysicalAddressTest, DevMemOffsetIsThePhysicalAddress) {
  EXPECT_EQ(physical("/dev/mem", 0xfed00000), 0xfed00000u);
}

TEST_F(PhysicalAddressTest, PciResourceFileStartsAtItsBar) {
  const std::string device = "/sys/devices/pci0000:00/0000:00:02.0";
  EXPECT_EQ(physical(device + "/resource0", 0), 0xfd000000u);
  EXPECT_EQ(physical(device + "/resource2", 0x1000), 0xfe001000u);
  EXPECT_EQ(physical(device + "/resource2_wc", 0x10), 0xfe000010u);
}

TEST_F(PhysicalAddressTest, MissingBarFallsBackToTheFileOffset) {
  EXPECT_EQ(physical("/sys/devices/pci0000:00/0000:00:02.0/resource5", 0x20), 0x20u);
}

TEST_F(PhysicalAddressTest, UioMapIsChosenByTheOffsetInPages) {
  EXPECT_EQ(physical("/dev/uio3", 4096), 0xfebd0000u);
  EXPECT_EQ(physical("/dev/uio3", 4096 + 0x40), 0xfebd0040u);
}

TEST_F(PhysicalAddressTest, VfioRegionStartsAtItsBar) {
  EXPECT_EQ(physical("vfio-device:7:0000:00:02.0", (uint64_t{2} << 40) + 0x80), 0xfe000080u);
  EXPECT_EQ(physical("vfio-device:7:0000:00:02.0", 0x10), 0xfd000010u);
}

TEST_F(PhysicalAddressTest, OtherFilesUseTheFileOffset) {
  EXPECT_EQ(physical("/tmp/registers.bin", 0x3000), 0x3000u);
  EXPECT_EQ(physical("/dev/uio", 0x10), 0x10u);
  EXPECT_EQ(physical("/home/resource1", 0x10), 0x10u);
}

}  // namespace
}  // namespace mmiotrace::preload
