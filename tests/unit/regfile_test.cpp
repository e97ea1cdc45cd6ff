// Unit tests for devices/regfile: plain memory, its image, widths, reset and its arguments.
#include "devices/regfile.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "devices/builtin_models.hpp"

namespace mmiotrace::devices {
namespace {

// A regfile made by the model's create, destroyed at the end of the scope.
class Regfile {
 public:
  explicit Regfile(const std::string& arguments) {
    char error[256] = "";
    device_ = kRegfileModel.create(arguments.c_str(), error, sizeof error);
    error_ = error;
  }
  ~Regfile() {
    if (device_) kRegfileModel.destroy(device_);
  }
  Regfile(const Regfile&) = delete;
  Regfile& operator=(const Regfile&) = delete;

  bool made() const { return device_ != nullptr; }
  const std::string& error() const { return error_; }
  uint64_t size() { return kRegfileModel.size(device_); }
  uint64_t read(uint64_t offset, uint32_t width) {
    return kRegfileModel.read(device_, offset, width);
  }
  void write(uint64_t offset, uint32_t width, uint64_t value) {
    kRegfileModel.write(device_, offset, width, value);
  }
  void reset() { kRegfileModel.reset(device_); }

 private:
  void* device_ = nullptr;
  std::string error_;
};

std::string write_temp_file(const std::string& name, const std::vector<uint8_t>& content) {
  std::string path = ::testing::TempDir() + "regfile_test_" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(content.data()),
            static_cast<std::streamsize>(content.size()));
  return path;
}

std::string make_error(const std::string& arguments) {
  Regfile regfile(arguments);
  EXPECT_FALSE(regfile.made()) << arguments;
  return regfile.error();
}

TEST(Regfile, DefaultIsFourKilobytesOfZeroes) {
  Regfile regfile("");
  ASSERT_TRUE(regfile.made()) << regfile.error();
  EXPECT_EQ(regfile.size(), 4096u);
  EXPECT_EQ(regfile.read(0, 8), 0u);
  EXPECT_EQ(regfile.read(4088, 8), 0u);
  EXPECT_EQ(kRegfileModel.registers, nullptr);
  EXPECT_EQ(kRegfileModel.advance, nullptr);
}

TEST(Regfile, WritesAreReadBackLittleEndianAtAnyWidthAndAlignment) {
  Regfile regfile("size=64");
  ASSERT_TRUE(regfile.made()) << regfile.error();
  regfile.write(3, 8, 0x8877665544332211ull);
  EXPECT_EQ(regfile.read(3, 8), 0x8877665544332211ull);
  EXPECT_EQ(regfile.read(3, 1), 0x11u);
  EXPECT_EQ(regfile.read(4, 2), 0x3322u);
  EXPECT_EQ(regfile.read(5, 4), 0x66554433u);
  EXPECT_EQ(regfile.read(2, 2), 0x1100u);
  regfile.write(6, 2, 0xbeef);
  EXPECT_EQ(regfile.read(3, 8), 0x887766beef332211ull);
  regfile.write(0, 1, 0x1ff);  // only the low byte is written
  EXPECT_EQ(regfile.read(0, 2), 0x00ffu);
}

TEST(Regfile, AccessReachingPastTheSizeIsCut) {
  Regfile regfile("size=10");
  ASSERT_TRUE(regfile.made()) << regfile.error();
  EXPECT_EQ(regfile.size(), 10u);
  regfile.write(6, 8, 0x8877665544332211ull);
  EXPECT_EQ(regfile.read(6, 8), 0x44332211u);
  EXPECT_EQ(regfile.read(9, 1), 0x44u);
}

TEST(Regfile, SizeTakesHexAndSuffixes) {
  EXPECT_EQ(Regfile("size=0x2000").size(), 0x2000u);
  EXPECT_EQ(Regfile("size=64K").size(), 65536u);
  EXPECT_EQ(Regfile("size=2M").size(), 2u << 20);
  EXPECT_EQ(Regfile("size=100").size(), 100u);
}

TEST(Regfile, ImageIsTheInitialContentAndSetsTheSizeInPages) {
  std::vector<uint8_t> content(5000);
  for (size_t i = 0; i < content.size(); ++i)
    content[i] = static_cast<uint8_t>(i * 7);
  std::string path = write_temp_file("image", content);
  Regfile regfile("image=" + path);
  ASSERT_TRUE(regfile.made()) << regfile.error();
  EXPECT_EQ(regfile.size(), 8192u);
  EXPECT_EQ(regfile.read(0, 1), 0u);
  EXPECT_EQ(regfile.read(1, 1), 7u);
  EXPECT_EQ(regfile.read(4999, 1), static_cast<uint8_t>(4999 * 7));
  EXPECT_EQ(regfile.read(5000, 8), 0u);

  Regfile sized("image=" + path + ",size=0x10000");
  ASSERT_TRUE(sized.made()) << sized.error();
  EXPECT_EQ(sized.size(), 0x10000u);
  EXPECT_EQ(sized.read(1, 1), 7u);
}

TEST(Regfile, EmptyImageGivesOnePage) {
  std::string path = write_temp_file("empty", {});
  Regfile regfile("image=" + path);
  ASSERT_TRUE(regfile.made()) << regfile.error();
  EXPECT_EQ(regfile.size(), 4096u);
}

TEST(Regfile, ResetReloadsTheImage) {
  std::string path = write_temp_file("reset", {1, 2, 3, 4});
  Regfile regfile("image=" + path + ",size=16");
  ASSERT_TRUE(regfile.made()) << regfile.error();
  regfile.write(0, 8, ~0ull);
  regfile.write(8, 8, ~0ull);
  regfile.reset();
  EXPECT_EQ(regfile.read(0, 8), 0x04030201u);
  EXPECT_EQ(regfile.read(8, 8), 0u);
}

TEST(Regfile, ResetWithoutImageZeroes) {
  Regfile regfile("size=4K");
  ASSERT_TRUE(regfile.made()) << regfile.error();
  regfile.write(100, 4, 0xdeadbeef);
  regfile.reset();
  EXPECT_EQ(regfile.read(100, 4), 0u);
}

TEST(Regfile, BadArgumentsAreReportedInOneLine) {
  EXPECT_EQ(make_error("size=0"), "regfile: size=0 is out of range (1 to 1G)");
  EXPECT_EQ(make_error("size=2G"), "regfile: size=2G is out of range (1 to 1G)");
  EXPECT_EQ(make_error("size=12Q"),
            "regfile: size=12Q is not a number (decimal or 0x hex, with an optional K, M or G)");
  EXPECT_EQ(make_error("size=0x"),
            "regfile: size=0x is not a number (decimal or 0x hex, with an optional K, M or G)");
  EXPECT_EQ(make_error("size=99999999999999999999999"),
            "regfile: size=99999999999999999999999 is not a number (decimal or 0x hex, with an "
            "optional K, M or G)");
  EXPECT_EQ(make_error("colour=blue"),
            "regfile: unknown argument 'colour' (it takes size=, image=)");
  EXPECT_EQ(make_error("size"),
            "regfile: argument 'size' is not KEY=VALUE (it takes size=, image=)");
  EXPECT_EQ(make_error("size=1,size=2"), "regfile: size= is given twice");
  std::string missing = ::testing::TempDir() + "regfile_test_no_such_file";
  EXPECT_EQ(make_error("image=" + missing),
            "regfile: cannot open image='" + missing + "': No such file or directory");
  std::string path = write_temp_file("large", std::vector<uint8_t>(100));
  EXPECT_EQ(make_error("image=" + path + ",size=64"),
            "regfile: image='" + path + "' has 100 bytes, more than size=64");
}

TEST(Regfile, ErrorIsCutToTheBuffer) {
  char error[16];
  EXPECT_EQ(kRegfileModel.create("size=0", error, sizeof error), nullptr);
  EXPECT_STREQ(error, "regfile: size=0");
}

}  // namespace
}  // namespace mmiotrace::devices
