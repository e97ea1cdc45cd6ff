// Unit tests for trace/pci_devices: PCIDEV lines in the kernel's format, from a stand-in sysfs,
// for the devices the trace globs reach, and read back.
#include "trace/pci_devices.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mmiotrace::trace {
namespace {

namespace fs = std::filesystem;

class PciDevicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sysfs_ = fs::temp_directory_path() / ("mmiotrace-pci-" + std::to_string(getpid()));
    add_device("0000:01:00.0", "0x10de", "0x0402", "16",
               "0x00000000fd000000 0x00000000fdffffff 0x0000000000040200\n"
               "0x00000000d0000000 0x00000000dfffffff 0x000000000014220c\n"
               "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
               "0x00000000fa000000 0x00000000fbffffff 0x000000000014220c\n"
               "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
               "0x000000000000ef80 0x000000000000efff 0x0000000000040101\n"
               "0x00000000fe9e0000 0x00000000fe9fffff 0x0000000000046200\n"
               "0x0000000000000000 0x0000000000000000 0x0000000000000000\n",
               "nvidia", "7");
    add_device("0000:00:02.0", "0x1af4", "0x1045", "0",
               "0x0000000000000000 0x0000000000000000 0x0000000000000000\n", "", "3");
  }
  void TearDown() override { fs::remove_all(sysfs_); }

  void add_device(const std::string& name, const std::string& vendor, const std::string& device,
                  const std::string& irq, const std::string& resource, const std::string& driver,
                  const std::string& group) {
    fs::path dir = sysfs_ / "devices/pci0000:00" / name;
    fs::create_directories(dir);
    std::ofstream(dir / "vendor") << vendor << "\n";
    std::ofstream(dir / "device") << device << "\n";
    std::ofstream(dir / "irq") << irq << "\n";
    std::ofstream(dir / "resource") << resource;
    if (!driver.empty()) {
      fs::create_directories(sysfs_ / "bus/pci/drivers" / driver);
      fs::create_directory_symlink(sysfs_ / "bus/pci/drivers" / driver, dir / "driver");
    }
    fs::create_directories(sysfs_ / "kernel/iommu_groups" / group);
    fs::create_directory_symlink(sysfs_ / "kernel/iommu_groups" / group, dir / "iommu_group");
    fs::create_directories(sysfs_ / "bus/pci/devices");
    fs::create_directory_symlink(dir, sysfs_ / "bus/pci/devices" / name);
  }
  fs::path sysfs_;
};

TEST_F(PciDevicesTest, LineHasTheKernelsLayout) {
  EXPECT_EQ(pci_device_line((sysfs_ / "bus/pci/devices/0000:01:00.0").string()),
            "PCIDEV 0100 10de0402 10 fd000000 d000000c 0 fa00000c 0 ef81 fe9e0000 1000000 "
            "10000000 0 2000000 0 80 20000 nvidia");
  EXPECT_EQ(pci_device_line((sysfs_ / "bus/pci/devices/0000:00:02.0").string()),
            "PCIDEV 0010 1af41045 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 ");
}

TEST_F(PciDevicesTest, DevMemReachesEveryDevice) {
  EXPECT_EQ(pci_device_lines({"/dev/mem"}, sysfs_.string()).size(), 2u);
}

TEST_F(PciDevicesTest, ResourceGlobsChooseTheirDevices) {
  auto lines = pci_device_lines({"/sys/bus/pci/devices/0000:01:*/resource*"}, sysfs_.string());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].substr(0, 16), "PCIDEV 0100 10de");
  lines = pci_device_lines({"/sys/devices/pci0000:00/0000:00:02.0/resource0"}, sysfs_.string());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].substr(0, 16), "PCIDEV 0010 1af4");
}

TEST_F(PciDevicesTest, VfioGroupGlobChoosesItsDevices) {
  auto lines = pci_device_lines({"/dev/vfio/7"}, sysfs_.string());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].substr(0, 11), "PCIDEV 0100");
}

TEST_F(PciDevicesTest, OtherFilesReachNoDevice) {
  EXPECT_TRUE(pci_device_lines({"/tmp/*.reg"}, sysfs_.string()).empty());
}

// What pci_device_line() writes reads back, field by field, the driver's name included.
TEST_F(PciDevicesTest, ALineReadsBackAsWritten) {
  PciDeviceFields fields;
  PciDeviceLineError error;
  ASSERT_TRUE(parse_pci_device_line(
      pci_device_line((sysfs_ / "bus/pci/devices/0000:01:00.0").string()), &fields, &error));
  EXPECT_EQ(error.kind, PciDeviceLineError::Kind::None);
  EXPECT_EQ(fields.bus, 1u);
  EXPECT_EQ(fields.devfn, 0u);
  EXPECT_EQ(fields.vendor, 0x10de);
  EXPECT_EQ(fields.device, 0x0402);
  EXPECT_EQ(fields.irq, 0x10u);
  EXPECT_EQ(fields.base[1], 0xd000000cu);
  EXPECT_EQ(fields.base[5], 0xef81u);
  EXPECT_EQ(fields.size[1], 0x10000000u);
  EXPECT_EQ(fields.size[6], 0x20000u);
  EXPECT_EQ(fields.driver, "nvidia");
  // The kernel's own line, tab-separated, with no driver bound.
  ASSERT_TRUE(
      parse_pci_device_line("PCIDEV 3b08\t10025159\t0\t0\t0\tfe000000\t0\t0\t0\t0\t0\t0"
                            "\t1000\t0\t0\t0\t0",
                            &fields, &error));
  EXPECT_EQ(fields.bus, 0x3bu);
  EXPECT_EQ(fields.devfn, 0x08u);
  EXPECT_EQ(fields.base[2], 0xfe000000u);
  EXPECT_EQ(fields.size[2], 0x1000u);
  EXPECT_EQ(fields.driver, "");
}

// A field that is not hexadecimal is named as it was, and the function is known when its
// address came first; too few fields, or another kind of line, is malformed.
TEST_F(PciDevicesTest, ABadLineSaysWhatIsWrong) {
  PciDeviceFields fields;
  PciDeviceLineError error;
  EXPECT_FALSE(parse_pci_device_line(
      "PCIDEV 3b08 10025159 zz 0 0 fe000000 0 0 0 0 0 0 1000 0 0 0 0", &fields, &error));
  EXPECT_EQ(error.kind, PciDeviceLineError::Kind::NotHex);
  EXPECT_EQ(error.field, "zz");
  EXPECT_TRUE(error.slot_read);
  EXPECT_EQ(fields.bus, 0x3bu);
  EXPECT_FALSE(parse_pci_device_line("PCIDEV 3b08 10025159 0 0 0 -1 0 0 0 0 0 0 1000 0 0 0 0",
                                     &fields, &error));
  EXPECT_EQ(error.field, "-1");
  EXPECT_FALSE(parse_pci_device_line("PCIDEV 3b0g 10025159 0 0 0 0 0 0 0 0 0 0 1000 0 0 0 0",
                                     &fields, &error));
  EXPECT_EQ(error.kind, PciDeviceLineError::Kind::NotHex);
  EXPECT_FALSE(error.slot_read);
  EXPECT_FALSE(parse_pci_device_line("PCIDEV 3b08 10025159 0 0 0", &fields, &error));
  EXPECT_EQ(error.kind, PciDeviceLineError::Kind::Malformed);
  EXPECT_FALSE(parse_pci_device_line("PCIDEV 3b008 10025159 0 0 0 0 0 0 0 0 0 0 1000 0 0 0 0",
                                     &fields, &error));
  EXPECT_EQ(error.kind, PciDeviceLineError::Kind::Malformed);
  EXPECT_FALSE(
      parse_pci_device_line("MAP 3b08 10025159 0 0 0 0 0 0 0 0 0 0 1000 0 0 0 0", &fields, &error));
  EXPECT_EQ(error.kind, PciDeviceLineError::Kind::Malformed);
}

}  // namespace
}  // namespace mmiotrace::trace
