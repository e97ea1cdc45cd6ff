// Unit tests for the shim's virtual device files: how a path the program gives is compared
// with a device's path.
#include "preload/device_files.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace mmiotrace::preload {
namespace {

TEST(DeviceFiles, PathsAreNormalizedLexically) {
  EXPECT_EQ(normalized_path(AT_FDCWD, "/dev/fake-nvme"), "/dev/fake-nvme");
  EXPECT_EQ(normalized_path(AT_FDCWD, "//dev/./fake-nvme"), "/dev/fake-nvme");
  EXPECT_EQ(normalized_path(AT_FDCWD, "/dev/x/../fake-nvme/"), "/dev/fake-nvme");
  EXPECT_EQ(normalized_path(AT_FDCWD, "/../../dev/fake-nvme"), "/dev/fake-nvme");
  EXPECT_EQ(normalized_path(AT_FDCWD, "/"), "/");
}

TEST(DeviceFiles, RelativePathsStartAtTheWorkingDirectoryOrTheGivenOne) {
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(chdir("/dev"), 0);
  EXPECT_EQ(normalized_path(AT_FDCWD, "fake-nvme"), "/dev/fake-nvme");
  EXPECT_EQ(normalized_path(AT_FDCWD, "../dev/./fake-nvme"), "/dev/fake-nvme");
  ASSERT_EQ(chdir(cwd), 0);
  int dev = open("/dev", O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dev, 0);
  EXPECT_EQ(normalized_path(dev, "fake-nvme"), "/dev/fake-nvme");
  close(dev);
}

TEST(DeviceFiles, NoDevicesWithoutTheEnvironment) {
  unsetenv("MMIOTRACE_DEVICES");
  DeviceFiles devices = DeviceFiles::from_environment();
  EXPECT_TRUE(devices.empty());
  EXPECT_EQ(devices.find_path(AT_FDCWD, "/dev/fake-nvme"), nullptr);
  EXPECT_EQ(devices.find_descriptor(0), nullptr);
}

TEST(DeviceFiles, ADeviceIsOpenedAndKnownByItsDescriptor) {
  setenv("MMIOTRACE_DEVICES", "regfile:size=8192@/dev/fake-regs\nnosuch@/dev/x\n", 1);
  DeviceFiles devices = DeviceFiles::from_environment();  // nosuch: reported and left out
  unsetenv("MMIOTRACE_DEVICES");
  const DeviceFile* file = devices.find_path(AT_FDCWD, "/dev/../dev/fake-regs");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->instance, nullptr) << "a device is made when the program first opens it";
  EXPECT_EQ(devices.find_path(AT_FDCWD, "/dev/x"), nullptr);
  int fd = devices.open(*file, O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_NE(file->instance, nullptr);
  EXPECT_EQ(file->size, 8192u);
  EXPECT_EQ(devices.find_descriptor(fd), file);
  int copy = dup(fd);
  EXPECT_EQ(devices.find_descriptor(copy), file) << "a copy of the descriptor is the device too";
  struct stat status;
  devices.describe(*file, &status);
  EXPECT_TRUE(S_ISCHR(status.st_mode));
  EXPECT_EQ(devices.open(*file, O_RDWR | O_CREAT | O_EXCL), -1);
  EXPECT_EQ(errno, EEXIST);
  close(copy);
  close(fd);
}

}  // namespace
}  // namespace mmiotrace::preload
