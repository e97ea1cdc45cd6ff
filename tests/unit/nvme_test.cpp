// Unit tests for devices/nvme: the NVMe controller registers, their timed transitions (time is
// driven through advance, never slept), resets, shutdown and the arguments.
#include "devices/nvme.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "devices/builtin_models.hpp"

namespace mmiotrace::devices {
namespace {

using namespace nvme;

constexpr uint64_t kStartNs = 1'000'000'000'000;  // an arbitrary CLOCK_MONOTONIC time
constexpr uint64_t kMs = 1'000'000;
constexpr uint32_t kCcEnableWith64ByteEntries =
    kCcEnable | 6u << kCcIosqesShift | 4u << kCcIocqesShift;

// An nvme device made by the model's create, at time kStartNs, destroyed at the end of scope.
class Nvme {
 public:
  explicit Nvme(const std::string& arguments = "") {
    char error[256] = "";
    device_ = kNvmeModel.create(arguments.c_str(), error, sizeof error);
    error_ = error;
    if (device_) at(0);
  }
  ~Nvme() {
    if (device_) kNvmeModel.destroy(device_);
  }
  Nvme(const Nvme&) = delete;
  Nvme& operator=(const Nvme&) = delete;

  bool made() const { return device_ != nullptr; }
  const std::string& error() const { return error_; }
  NvmeState& state() { return *static_cast<NvmeState*>(device_); }

  // Sets the time to `ns` after kStartNs, as mmiotrace does before each access.
  void at(uint64_t ns) { kNvmeModel.advance(device_, kStartNs + ns); }
  uint64_t read(uint64_t offset, uint32_t width) { return kNvmeModel.read(device_, offset, width); }
  uint32_t read32(uint64_t offset) { return static_cast<uint32_t>(read(offset, 4)); }
  uint64_t read64(uint64_t offset) { return read(offset, 8); }
  void write(uint64_t offset, uint32_t width, uint64_t value) {
    kNvmeModel.write(device_, offset, width, value);
  }
  void write32(uint64_t offset, uint32_t value) { kNvmeModel.write(device_, offset, 4, value); }
  void write64(uint64_t offset, uint64_t value) { kNvmeModel.write(device_, offset, 8, value); }

  uint32_t csts() { return read32(kCsts); }
  void set_admin_queue(uint64_t asq = 0x100000, uint64_t acq = 0x101000,
                       uint32_t aqa = 0x001f001f) {
    write32(kAqa, aqa);
    write64(kAsq, asq);
    write64(kAcq, acq);
  }

 private:
  void* device_ = nullptr;
  std::string error_;
};

std::string make_error(const std::string& arguments) {
  Nvme nvme(arguments);
  EXPECT_FALSE(nvme.made()) << arguments;
  return nvme.error();
}

TEST(Nvme, CapabilitiesDescribeTheDefaults) {
  Nvme nvme;
  ASSERT_TRUE(nvme.made()) << nvme.error();
  uint64_t cap = nvme.read64(kCap);
  EXPECT_EQ(cap & 0xffff, 1023u);   // MQES: 1024 entries
  EXPECT_EQ(cap >> 16 & 1, 1u);     // CQR
  EXPECT_EQ(cap >> 17 & 3, 0u);     // AMS: round robin only
  EXPECT_EQ(cap >> 24 & 0xff, 4u);  // TO: 2000 ms
  EXPECT_EQ(cap >> 32 & 0xf, 0u);   // DSTRD
  EXPECT_EQ(cap >> 36 & 1, 1u);     // NSSRS
  EXPECT_EQ(cap >> 37 & 0xff, 1u);  // CSS: the NVM command set
  EXPECT_EQ(cap >> 48 & 0xf, 0u);   // MPSMIN: 4 KiB
  EXPECT_EQ(cap >> 52 & 0xf, 4u);   // MPSMAX: 64 KiB
  EXPECT_EQ(cap, 0x0040'0030'0401'03ffull);
  EXPECT_EQ(nvme.read32(kVs), 0x00010400u);  // 1.4.0
  EXPECT_EQ(kNvmeModel.size(&nvme.state()), 0x4000u);
}

TEST(Nvme, CapabilitiesFollowTheArguments) {
  Nvme nvme("mqes=255,dstrd=2,timeout_ms=1001,version=2.0,size=64K");
  ASSERT_TRUE(nvme.made()) << nvme.error();
  uint64_t cap = nvme.read64(kCap);
  EXPECT_EQ(cap & 0xffff, 255u);
  EXPECT_EQ(cap >> 24 & 0xff, 3u);  // rounded up to 1500 ms
  EXPECT_EQ(cap >> 32 & 0xf, 2u);
  EXPECT_EQ(nvme.read32(kVs), 0x00020000u);
  EXPECT_EQ(kNvmeModel.size(&nvme.state()), 0x10000u);
  EXPECT_EQ(Nvme("version=1.3.1").read32(kVs), 0x00010301u);
  EXPECT_EQ(Nvme("timeout_ms=0").read64(kCap) >> 24 & 0xff, 0u);
}

TEST(Nvme, EightByteRegistersReadAsHalvesAndBytes) {
  Nvme nvme;
  uint64_t cap = nvme.read64(kCap);
  EXPECT_EQ(nvme.read32(kCap), static_cast<uint32_t>(cap));
  EXPECT_EQ(nvme.read32(kCap + 4), static_cast<uint32_t>(cap >> 32));
  EXPECT_EQ(nvme.read(kCap + 3, 1), 4u);  // TO
  EXPECT_EQ(nvme.read(kCap, 2), 1023u);
  EXPECT_EQ(nvme.read(kVs + 2, 2), 1u);  // MJR

  nvme.write32(kAsq, 0x12345000);
  nvme.write32(kAsq + 4, 0x9);
  EXPECT_EQ(nvme.read64(kAsq), 0x9'1234'5000ull);
  nvme.write64(kAcq, 0xabcd'0000'2000ull);
  EXPECT_EQ(nvme.read32(kAcq), 0x2000u);
  EXPECT_EQ(nvme.read32(kAcq + 4), 0xabcdu);
}

TEST(Nvme, ReadOnlyAndReservedBitsIgnoreWrites) {
  Nvme nvme;
  uint64_t cap = nvme.read64(kCap);
  nvme.write64(kCap, 0);
  nvme.write32(kVs, 0x00020000);
  EXPECT_EQ(nvme.read64(kCap), cap);
  EXPECT_EQ(nvme.read32(kVs), 0x00010400u);
  nvme.write32(kCsts, 0xffffffff);
  EXPECT_EQ(nvme.csts(), 0u);
  nvme.write32(kCc, 0xff00000e);  // reserved bits 31:24 and 3:1
  EXPECT_EQ(nvme.read32(kCc), 0u);
  nvme.write32(kAqa, 0xffffffff);
  EXPECT_EQ(nvme.read32(kAqa), 0x0fff0fffu);
  nvme.write64(kAsq, 0x100fff);  // ASQ bits 11:0 are reserved and read 0
  EXPECT_EQ(nvme.read64(kAsq), 0x100000u);
  nvme.write32(0x18, 0xffffffff);  // reserved register
  EXPECT_EQ(nvme.read32(0x18), 0u);
  nvme.write32(kNssr, 0x12345678);  // not "NVMe": no effect, reads 0
  EXPECT_EQ(nvme.read32(kNssr), 0u);
  EXPECT_EQ(nvme.read32(kAqa), 0x0fff0fffu);
}

TEST(Nvme, ConfigurationFieldsAreReadBack) {
  Nvme nvme;
  uint32_t cc = 1u << kCcMpsShift | 6u << kCcIosqesShift | 4u << kCcIocqesShift;
  nvme.write32(kCc, cc);
  EXPECT_EQ(nvme.read32(kCc), cc);
  nvme.write(kCc + 2, 1, 0x00);  // a byte write changes that byte only
  EXPECT_EQ(nvme.read32(kCc), 1u << kCcMpsShift);
}

TEST(Nvme, EnableSetsReadyOnlyAfterTheDelay) {
  Nvme nvme("delay_ms=5");
  nvme.set_admin_queue();
  nvme.at(1 * kMs);
  nvme.write32(kCc, kCcEnableWith64ByteEntries);
  EXPECT_EQ(nvme.csts() & kCstsReady, 0u);
  nvme.at(6 * kMs - 1);
  EXPECT_EQ(nvme.csts() & kCstsReady, 0u);
  nvme.at(6 * kMs);
  EXPECT_EQ(nvme.csts(), kCstsReady);
  EXPECT_EQ(nvme.read32(kCc), kCcEnableWith64ByteEntries);
  nvme.write32(kCc, kCcEnableWith64ByteEntries);  // EN stays 1: nothing happens
  nvme.at(100 * kMs);
  EXPECT_EQ(nvme.csts(), kCstsReady);
}

TEST(Nvme, ZeroDelayMakesTransitionsImmediate) {
  Nvme nvme("delay_ms=0");
  nvme.set_admin_queue();
  nvme.write32(kCc, kCcEnable);
  EXPECT_EQ(nvme.csts(), kCstsReady);
  nvme.write32(kCc, kCcEnable | 1u << kCcShnShift);
  EXPECT_EQ(nvme.csts(), kCstsReady | kCstsShutdownComplete);
  nvme.write32(kCc, 0);
  EXPECT_EQ(nvme.csts(), 0u);
}

TEST(Nvme, DisableResetsTheControllerAfterTheDelay) {
  Nvme nvme("delay_ms=5");
  nvme.set_admin_queue(0x200000, 0x300000, 0x003f001f);
  nvme.write32(kCc, kCcEnableWith64ByteEntries);
  nvme.at(5 * kMs);
  ASSERT_EQ(nvme.csts(), kCstsReady);
  nvme.write32(kIntms, 0x5);
  nvme.write32(kDoorbells, 3);      // SQ0TDBL
  nvme.write32(kDoorbells + 4, 2);  // CQ0HDBL
  EXPECT_EQ(nvme.state().doorbells[0], 3u);

  nvme.at(10 * kMs);
  uint32_t disabled = kCcEnableWith64ByteEntries & ~kCcEnable;
  nvme.write32(kCc, disabled);
  EXPECT_EQ(nvme.csts(), kCstsReady);  // still ready: the reset takes the delay
  EXPECT_EQ(nvme.state().doorbells[0], 0u);
  EXPECT_EQ(nvme.state().doorbells[1], 0u);
  nvme.at(15 * kMs - 1);
  EXPECT_EQ(nvme.csts(), kCstsReady);
  nvme.at(15 * kMs);
  EXPECT_EQ(nvme.csts(), 0u);
  EXPECT_EQ(nvme.read32(kIntms), 0u);
  // The admin queue registers survive a controller reset (NVMe 1.4 section 7.3.2); CC reads
  // what the host wrote.
  EXPECT_EQ(nvme.read32(kAqa), 0x003f001fu);
  EXPECT_EQ(nvme.read64(kAsq), 0x200000u);
  EXPECT_EQ(nvme.read64(kAcq), 0x300000u);
  EXPECT_EQ(nvme.read32(kCc), disabled);

  nvme.write32(kCc, kCcEnableWith64ByteEntries);  // and the controller starts again
  nvme.at(20 * kMs);
  EXPECT_EQ(nvme.csts(), kCstsReady);
}

TEST(Nvme, DisableDuringEnableCancelsIt) {
  Nvme nvme("delay_ms=5");
  nvme.set_admin_queue();
  nvme.write32(kCc, kCcEnable);
  nvme.at(2 * kMs);
  nvme.write32(kCc, 0);
  nvme.at(100 * kMs);
  EXPECT_EQ(nvme.csts(), 0u);
}

TEST(Nvme, EnableBeforeTheResetCompletesEndsTheReset) {
  Nvme nvme("delay_ms=5");
  nvme.set_admin_queue();
  nvme.write32(kCc, kCcEnable);
  nvme.at(5 * kMs);
  ASSERT_EQ(nvme.csts(), kCstsReady);
  nvme.write32(kCc, 0);
  nvme.at(6 * kMs);
  nvme.write32(kCc, kCcEnable);  // the host did not wait for RDY = 0
  EXPECT_EQ(nvme.csts(), 0u);
  nvme.at(11 * kMs);
  EXPECT_EQ(nvme.csts(), kCstsReady);
}

TEST(Nvme, InvalidAdminQueueSetsFatalStatusInsteadOfReady) {
  struct Case {
    const char* what;
    uint64_t asq;
    uint64_t acq;
    uint32_t aqa;
    uint32_t cc;
  };
  const Case cases[] = {
      {"ASQ zero", 0, 0x101000, 0x001f001f, kCcEnable},
      {"ACQ zero", 0x100000, 0, 0x001f001f, kCcEnable},
      {"ASQS zero", 0x100000, 0x101000, 0x001f0000, kCcEnable},
      {"ACQS zero", 0x100000, 0x101000, 0x0000001f, kCcEnable},
      {"ASQ not 4K-aligned", 0x100800, 0x101000, 0x001f001f, kCcEnable},
      {"ACQ not 8K-aligned", 0x100000, 0x101000, 0x001f001f, kCcEnable | 1u << kCcMpsShift},
      {"MPS above MPSMAX", 0x100000, 0x200000, 0x001f001f, kCcEnable | 5u << kCcMpsShift},
      {"CSS not NVM", 0x100000, 0x101000, 0x001f001f, kCcEnable | 1u << kCcCssShift},
      {"AMS not round robin", 0x100000, 0x101000, 0x001f001f, kCcEnable | 1u << kCcAmsShift},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Nvme nvme("delay_ms=5");
    nvme.set_admin_queue(c.asq, c.acq, c.aqa);
    nvme.write32(kCc, c.cc);
    EXPECT_EQ(nvme.csts(), 0u);
    nvme.at(5 * kMs);
    EXPECT_EQ(nvme.csts(), kCstsFatal);
    nvme.write32(kCc, 0);  // a reset clears CFS after the delay
    nvme.at(10 * kMs);
    EXPECT_EQ(nvme.csts(), 0u);
  }
  Nvme valid("delay_ms=5");
  valid.set_admin_queue(0x100000, 0x102000, 0x00010001);  // 8K-aligned, 2 entries each
  valid.write32(kCc, kCcEnable | 1u << kCcMpsShift);
  valid.at(5 * kMs);
  EXPECT_EQ(valid.csts(), kCstsReady);
}

TEST(Nvme, ShutdownNotificationProcessesThenCompletes) {
  for (uint32_t shn : {1u, 2u}) {
    SCOPED_TRACE(shn == 1 ? "normal" : "abrupt");
    Nvme nvme("delay_ms=5");
    nvme.set_admin_queue();
    nvme.write32(kCc, kCcEnable);
    nvme.at(5 * kMs);
    nvme.write32(kCc, kCcEnable | shn << kCcShnShift);
    EXPECT_EQ(nvme.csts(), kCstsReady | kCstsShutdownProcessing);
    nvme.at(10 * kMs - 1);
    EXPECT_EQ(nvme.csts(), kCstsReady | kCstsShutdownProcessing);
    nvme.at(10 * kMs);
    EXPECT_EQ(nvme.csts(), kCstsReady | kCstsShutdownComplete);
    nvme.write32(kCc, kCcEnable);  // SHN back to 00: SHST stays until a reset
    EXPECT_EQ(nvme.csts(), kCstsReady | kCstsShutdownComplete);
    nvme.write32(kCc, 0);
    nvme.at(15 * kMs);
    EXPECT_EQ(nvme.csts(), 0u);
  }
}

TEST(Nvme, InterruptMaskIsSetAndClearedByWritingOnes) {
  Nvme nvme;
  nvme.write32(kIntms, 0x11);
  nvme.write32(kIntms, 0x100);
  EXPECT_EQ(nvme.read32(kIntms), 0x111u);
  EXPECT_EQ(nvme.read32(kIntmc), 0x111u);
  nvme.write32(kIntmc, 0x10);
  EXPECT_EQ(nvme.read32(kIntms), 0x101u);
  nvme.write32(kIntmc, 0);
  EXPECT_EQ(nvme.read32(kIntmc), 0x101u);
  nvme.write(kIntmc + 1, 1, 0x01);  // a byte write clears bits in that byte only
  EXPECT_EQ(nvme.read32(kIntms), 0x001u);
}

TEST(Nvme, SubsystemResetClearsEverythingAndSetsNssro) {
  Nvme nvme("delay_ms=0");
  nvme.set_admin_queue();
  nvme.write32(kIntms, 1);
  nvme.write32(kCc, kCcEnable);
  ASSERT_EQ(nvme.csts(), kCstsReady);
  nvme.write32(kDoorbells, 7);
  nvme.write(kNssr, 2, 0x4d65);  // only a whole 32-bit write of "NVMe" counts
  EXPECT_EQ(nvme.csts(), kCstsReady);
  nvme.write32(kNssr, kNssrMagic);
  EXPECT_EQ(nvme.csts(), kCstsSubsystemResetOccurred);
  EXPECT_EQ(nvme.read32(kCc), 0u);
  EXPECT_EQ(nvme.read32(kAqa), 0u);
  EXPECT_EQ(nvme.read64(kAsq), 0u);
  EXPECT_EQ(nvme.read32(kIntms), 0u);
  EXPECT_EQ(nvme.state().doorbells[0], 0u);
  nvme.write32(kCsts, kCstsReady);  // NSSRO is write-1-to-clear; other bits ignore writes
  EXPECT_EQ(nvme.csts(), kCstsSubsystemResetOccurred);
  nvme.write32(kCsts, kCstsSubsystemResetOccurred);
  EXPECT_EQ(nvme.csts(), 0u);
}

TEST(Nvme, ControllerResetKeepsNssro) {
  Nvme nvme("delay_ms=0");
  nvme.write32(kNssr, kNssrMagic);
  nvme.set_admin_queue();
  nvme.write32(kCc, kCcEnable);
  nvme.write32(kCc, 0);
  EXPECT_EQ(nvme.csts(), kCstsSubsystemResetOccurred);
}

TEST(Nvme, DoorbellsAreStoredAndReadAsZero) {
  Nvme nvme;
  EXPECT_EQ(nvme.state().doorbell_count, (0x4000u - 0x1000) / 4);
  nvme.write32(kDoorbells + 0, 5);           // SQ0TDBL
  nvme.write32(kDoorbells + 4, 3);           // CQ0HDBL
  nvme.write32(kDoorbells + 8, 0xffffffff);  // SQ1TDBL: bits 31:16 are reserved
  EXPECT_EQ(nvme.read32(kDoorbells), 0u);
  EXPECT_EQ(nvme.read32(kDoorbells + 4), 0u);
  EXPECT_EQ(nvme.state().doorbells[0], 5u);
  EXPECT_EQ(nvme.state().doorbells[1], 3u);
  EXPECT_EQ(nvme.state().doorbells[2], 0xffffu);
  nvme.write32(0x3ffc, 9);  // the last doorbell of the BAR
  EXPECT_EQ(nvme.state().doorbells[nvme.state().doorbell_count - 1], 9u);
}

TEST(Nvme, DoorbellStrideFollowsDstrd) {
  Nvme nvme("dstrd=1");
  EXPECT_EQ(nvme.state().doorbell_count, (0x4000u - 0x1000) / 8);
  nvme.write32(kDoorbells + 4, 1);   // between doorbells: reserved
  nvme.write32(kDoorbells + 8, 2);   // CQ0HDBL
  nvme.write32(kDoorbells + 16, 3);  // SQ1TDBL
  EXPECT_EQ(nvme.state().doorbells[0], 0u);
  EXPECT_EQ(nvme.state().doorbells[1], 2u);
  EXPECT_EQ(nvme.state().doorbells[2], 3u);
}

TEST(Nvme, LargeStrideGrowsTheDefaultSize) {
  Nvme nvme("dstrd=15");
  ASSERT_TRUE(nvme.made()) << nvme.error();
  EXPECT_EQ(kNvmeModel.size(&nvme.state()), 0x41000u);
  EXPECT_EQ(nvme.state().doorbell_count, 2u);
}

TEST(Nvme, ResetReturnsToPowerOn) {
  Nvme nvme("delay_ms=5");
  nvme.set_admin_queue();
  nvme.write32(kIntms, 3);
  nvme.write32(kCc, kCcEnable);
  nvme.at(5 * kMs);
  nvme.write32(kNssr, kNssrMagic);
  nvme.write32(kCc, kCcEnable);
  kNvmeModel.reset(&nvme.state());
  nvme.at(100 * kMs);
  EXPECT_EQ(nvme.csts(), 0u);
  EXPECT_EQ(nvme.read32(kCc), 0u);
  EXPECT_EQ(nvme.read32(kAqa), 0u);
  EXPECT_EQ(nvme.read64(kAcq), 0u);
  EXPECT_EQ(nvme.read32(kIntms), 0u);
}

TEST(Nvme, TimeNeverGoesBack) {
  Nvme nvme("delay_ms=5");
  nvme.set_admin_queue();
  nvme.at(10 * kMs);
  nvme.write32(kCc, kCcEnable);
  nvme.at(1 * kMs);
  nvme.at(14 * kMs);
  EXPECT_EQ(nvme.csts(), 0u);
  nvme.at(15 * kMs);
  EXPECT_EQ(nvme.csts(), kCstsReady);
}

TEST(Nvme, BadArgumentsAreReportedInOneLine) {
  EXPECT_EQ(make_error("dstrd=16"), "nvme: dstrd=16 is out of range (0 to 15)");
  EXPECT_EQ(make_error("mqes=0"), "nvme: mqes=0 is out of range (1 to 65535, entries minus one)");
  EXPECT_EQ(make_error("delay_ms=-1"), "nvme: delay_ms=-1 is not a number (decimal or 0x hex)");
  EXPECT_EQ(make_error("timeout_ms=200000"),
            "nvme: timeout_ms=200000 is out of range (0 to 127500)");
  const char* version_help =
      " is not MAJOR.MINOR[.TERTIARY] (e.g. 1.4.0; major 0 to 65535, minor and tertiary 0 to "
      "255)";
  EXPECT_EQ(make_error("version=1"), std::string("nvme: version=1") + version_help);
  EXPECT_EQ(make_error("version=1.4.0.0"), std::string("nvme: version=1.4.0.0") + version_help);
  EXPECT_EQ(make_error("version=1.256"), std::string("nvme: version=1.256") + version_help);
  EXPECT_EQ(make_error("version=1.x"), std::string("nvme: version=1.x") + version_help);
  EXPECT_EQ(make_error("size=0x1000"),
            "nvme: size=0x1000 cannot hold the admin queue's doorbells (expected a multiple of "
            "4096, at least 0x2000 with dstrd=0)");
  EXPECT_EQ(make_error("size=0x2100"),
            "nvme: size=0x2100 cannot hold the admin queue's doorbells (expected a multiple of "
            "4096, at least 0x2000 with dstrd=0)");
  EXPECT_EQ(make_error("queues=4"),
            "nvme: unknown argument 'queues' (it takes delay_ms=, mqes=, dstrd=, timeout_ms=, "
            "version=, size=)");
}

}  // namespace
}  // namespace mmiotrace::devices
