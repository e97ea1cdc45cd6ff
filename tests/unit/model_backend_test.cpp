// Unit tests for the Model backend: how the emulator's accesses reach a device model (widths,
// pieces, the end of the register space, compare-and-exchange, time), and a probe whose
// accesses a model answers, whatever the strategy.
#include "backend/model_backend.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "arch/guarded_access_status.hpp"
#include "kmmio/engine.hpp"
#include "mmiotrace/mmiotrace.h"
#include "test_support.hpp"

namespace mmiotrace::backend {
namespace {

// A model that keeps 64 bytes and the calls it was given (without allocating: it is called
// from signal handlers).
struct Call {
  char kind;
  uint32_t width;
  uint64_t offset;
};

struct CallLog {
  Call calls[32];
  size_t count = 0;
  void add(char kind, uint32_t width, uint64_t offset) {
    if (count < 32) calls[count++] = {kind, width, offset};
  }
  void clear() { count = 0; }
  size_t size() const { return count; }
  std::vector<std::string> strings() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < count; ++i) {
      out.push_back(calls[i].kind + std::to_string(calls[i].width) + "@" +
                    std::to_string(calls[i].offset));
    }
    return out;
  }
};

struct RecordingDevice {
  uint8_t bytes[64] = {};
  CallLog calls;
  uint64_t last_time = 0;
};

uint64_t recording_read(void* device, uint64_t offset, uint32_t width) {
  auto& d = *static_cast<RecordingDevice*>(device);
  d.calls.add('R', width, offset);
  uint64_t value = 0;
  std::memcpy(&value, d.bytes + offset, width);
  return value;
}
void recording_write(void* device, uint64_t offset, uint32_t width, uint64_t value) {
  auto& d = *static_cast<RecordingDevice*>(device);
  d.calls.add('W', width, offset);
  std::memcpy(d.bytes + offset, &value, width);
}
uint64_t recording_size(void*) {
  return 64;
}
void recording_reset(void* device) {
  std::memset(static_cast<RecordingDevice*>(device)->bytes, 0, 64);
}
void recording_advance(void* device, uint64_t now) {
  static_cast<RecordingDevice*>(device)->last_time = now;
}

const mmiotrace_device_model kRecordingModel = {MMIOTRACE_DEVICE_ABI_VERSION,
                                                "recording",
                                                "test",
                                                "",
                                                nullptr,
                                                nullptr,
                                                &recording_size,
                                                &recording_read,
                                                &recording_write,
                                                &recording_reset,
                                                &recording_advance,
                                                nullptr};

class ModelBackendTest : public ::testing::Test {
 protected:
  ModelBackendTest() {
    instance_.model = &kRecordingModel;
    instance_.device = &device_;
    instance_.size = 64;
  }
  RecordingDevice device_;
  DeviceInstance instance_;
};

TEST_F(ModelBackendTest, AccessesOfOneTwoFourAndEightBytesReachTheModelWhole) {
  ModelBackend backend(instance_, 0);
  uint8_t value[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(backend.write(3, 8, value), arch::kGuardedOk);  // unaligned, still one call
  uint8_t out[8] = {};
  EXPECT_EQ(backend.read(3, 8, out), arch::kGuardedOk);
  EXPECT_EQ(std::memcmp(out, value, 8), 0);
  EXPECT_EQ(backend.read(2, 2, out), arch::kGuardedOk);
  EXPECT_EQ(device_.calls.strings(), (std::vector<std::string>{"W8@3", "R8@3", "R2@2"}));
  EXPECT_NE(device_.last_time, 0u) << "the model is told the time before each access";
}

TEST_F(ModelBackendTest, WiderAndOddAccessesArriveAsNaturallyAlignedPieces) {
  ModelBackend backend(instance_, 0);
  uint8_t wide[32] = {};
  EXPECT_EQ(backend.read(16, 32, wide), arch::kGuardedOk);
  EXPECT_EQ(device_.calls.strings(),
            (std::vector<std::string>{"R8@16", "R8@24", "R8@32", "R8@40"}));
  device_.calls.clear();
  uint8_t ten[10] = {};
  EXPECT_EQ(backend.write(6, 10, ten), arch::kGuardedOk);  // an x87 tbyte
  EXPECT_EQ(device_.calls.strings(), (std::vector<std::string>{"W2@6", "W8@8"}));
}

TEST_F(ModelBackendTest, MappingOffsetsAreAddedAndThePastTheEndReadsAllOnes) {
  ModelBackend backend(instance_, 32);  // a mapping of the device's second half
  uint8_t out[8];
  EXPECT_EQ(backend.read(8, 4, out), arch::kGuardedOk);
  EXPECT_EQ(device_.calls.strings(), (std::vector<std::string>{"R4@40"}));
  EXPECT_EQ(backend.read(32, 4, out), arch::kGuardedOk);  // offset 64: past the end
  EXPECT_EQ(out[0], 0xff);
  EXPECT_EQ(out[3], 0xff);
  uint8_t in[4] = {9, 9, 9, 9};
  EXPECT_EQ(backend.write(40, 4, in), arch::kGuardedOk);
  EXPECT_EQ(device_.calls.size(), 1u) << "nothing reaches the model past its end";
}

TEST_F(ModelBackendTest, CompareExchangeReadsComparesAndWritesOnce) {
  ModelBackend backend(instance_, 0);
  uint32_t expected = 0;
  uint32_t desired = 0x1234;
  EXPECT_EQ(backend.compare_exchange(0, 4, reinterpret_cast<uint8_t*>(&expected),
                                     reinterpret_cast<const uint8_t*>(&desired)),
            arch::kGuardedOk);
  EXPECT_EQ(device_.calls.strings(), (std::vector<std::string>{"R4@0", "W4@0"}));
  device_.calls.clear();
  expected = 7;
  EXPECT_EQ(backend.compare_exchange(0, 4, reinterpret_cast<uint8_t*>(&expected),
                                     reinterpret_cast<const uint8_t*>(&desired)),
            arch::kGuardedMismatch);
  EXPECT_EQ(expected, 0x1234u) << "a mismatch gives back what is there";
  EXPECT_EQ(device_.calls.strings(), (std::vector<std::string>{"R4@0"}));
}

// A probe whose backend is the model: the program's loads and stores reach the model, also
// with the single-step strategy, and the placeholder memory is never touched.
TEST_F(ModelBackendTest, ProbeWithAModelBackendIsAnsweredByTheModel) {
  testing::TestMemory placeholder(1);
  ModelBackend backend(instance_, 0);
  for (auto strategy : {MMIOTRACE_STRATEGY_EMULATE, MMIOTRACE_STRATEGY_SINGLE_STEP}) {
    ASSERT_EQ(mmiotrace_set_strategy(strategy), 0);
    device_.calls.clear();
    mmiotrace_probe probe = {placeholder.address(), 64, nullptr, nullptr, nullptr, 0};
    ASSERT_EQ(kmmio::register_probe_with_backend(&probe, &backend), 0);
    testing::store32(placeholder.address(8), 0xabcd0123);
    EXPECT_EQ(testing::load32(placeholder.address(8)), 0xabcd0123u);
    ASSERT_EQ(kmmio::unregister_probe(&probe), 0);
    EXPECT_EQ(device_.calls.strings(), (std::vector<std::string>{"W4@8", "R4@8"}));
    EXPECT_EQ(testing::load32(placeholder.address(8)), 0u) << "the placeholder holds nothing";
  }
  ASSERT_EQ(mmiotrace_set_strategy(MMIOTRACE_STRATEGY_EMULATE), 0);
}

}  // namespace
}  // namespace mmiotrace::backend
