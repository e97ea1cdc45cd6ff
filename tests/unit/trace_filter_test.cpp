// Unit tests for preload/trace_filter: which mapped files are traced.
#include "preload/trace_filter.hpp"
#include "preload/environment.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mmiotrace::preload {
namespace {

namespace fs = std::filesystem;

class TraceFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("mmiotrace-filter-" + std::to_string(getpid()));
    fs::create_directories(root_ / "devices/card0");
    std::ofstream(root_ / "devices/card0/bar0") << "x";
    std::ofstream(root_ / "other.bin") << "x";
    fs::create_directories(root_ / "bus");
    fs::create_directory_symlink(root_ / "devices/card0", root_ / "bus/card0");
  }
  void TearDown() override { fs::remove_all(root_); }

  std::optional<std::string> match(const TraceFilter& filter, const fs::path& path) {
    int fd = open(path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    auto result = filter.match(fd);
    close(fd);
    return result;
  }
  fs::path root_;
};

TEST_F(TraceFilterTest, GlobMatchesTheCanonicalPath) {
  TraceFilter filter({(root_ / "devices/*/bar*").string()});
  auto matched = match(filter, root_ / "devices/card0/bar0");
  ASSERT_TRUE(matched);
  EXPECT_EQ(*matched, (root_ / "devices/card0/bar0").string());
  EXPECT_FALSE(match(filter, root_ / "other.bin"));
}

TEST_F(TraceFilterTest, StarDoesNotCrossSlashes) {
  TraceFilter filter({(root_ / "*/bar0").string()});
  EXPECT_FALSE(match(filter, root_ / "devices/card0/bar0"));
}

TEST_F(TraceFilterTest, GlobThroughASymbolicLinkMatchesTheFileItNames) {
  // Like /sys/bus/pci/devices/D/resourceN, which is a link into /sys/devices.
  TraceFilter filter({(root_ / "bus/*/bar0").string()});
  EXPECT_TRUE(match(filter, root_ / "devices/card0/bar0"));
  EXPECT_TRUE(match(filter, root_ / "bus/card0/bar0"));
  EXPECT_FALSE(match(filter, root_ / "other.bin"));
}

TEST_F(TraceFilterTest, AnonymousMemoryIsNeverMatched) {
  TraceFilter filter({"*"});
  EXPECT_FALSE(filter.match(-1));
}

TEST_F(TraceFilterTest, VfioDeviceIsTheOneDeviceOfTheOpenGroups) {
  fs::create_directories(root_ / "kernel/iommu_groups/7/devices/0000:01:00.0");
  fs::create_directories(root_ / "kernel/iommu_groups/9/devices/0000:02:00.0");
  EXPECT_EQ(vfio_device_path({"/dev/null", "/dev/vfio/vfio", "/dev/vfio/7"}, root_.string()),
            "vfio-device:7:0000:01:00.0");
  EXPECT_EQ(vfio_device_path({"/dev/vfio/7", "/dev/vfio/9"}, root_.string()), "");  // which?
  EXPECT_EQ(vfio_device_path({"/dev/vfio/vfio"}, root_.string()), "");
}

TEST_F(TraceFilterTest, DefaultGlobsAreTheKernelTracersTargets) {
  EXPECT_EQ(default_trace_globs().size(), 4u);
  EXPECT_EQ(default_trace_globs()[0], "/dev/mem");
}

}  // namespace
}  // namespace mmiotrace::preload
