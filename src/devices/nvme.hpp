// mmiotrace: signal-safe
// The nvme model: the BAR0 registers of an NVMe controller (NVMe base specification 1.4,
// section 3.1): capabilities, version, interrupt masks, configuration and status with their
// timed transitions, subsystem reset, admin queue attributes and the doorbells. Commands are not
// executed (there is no DMA in user space). The state is made by builtin_models.cpp (create);
// the functions run in signal handlers.
#pragma once

#include <cstdint>

namespace mmiotrace::devices {

namespace nvme {

// Register offsets.
inline constexpr uint64_t kCap = 0x00;
inline constexpr uint64_t kVs = 0x08;
inline constexpr uint64_t kIntms = 0x0c;
inline constexpr uint64_t kIntmc = 0x10;
inline constexpr uint64_t kCc = 0x14;
inline constexpr uint64_t kCsts = 0x1c;
inline constexpr uint64_t kNssr = 0x20;
inline constexpr uint64_t kAqa = 0x24;
inline constexpr uint64_t kAsq = 0x28;
inline constexpr uint64_t kAcq = 0x30;
inline constexpr uint64_t kDoorbells = 0x1000;

// CC fields.
inline constexpr uint32_t kCcEnable = 1u << 0;
inline constexpr int kCcCssShift = 4;                // 3 bits
inline constexpr int kCcMpsShift = 7;                // 4 bits
inline constexpr int kCcAmsShift = 11;               // 3 bits
inline constexpr int kCcShnShift = 14;               // 2 bits
inline constexpr int kCcIosqesShift = 16;            // 4 bits
inline constexpr int kCcIocqesShift = 20;            // 4 bits
inline constexpr uint32_t kCcWritable = 0x00fffff1;  // bits 3:1 and 31:24 are reserved

// CSTS fields.
inline constexpr uint32_t kCstsReady = 1u << 0;
inline constexpr uint32_t kCstsFatal = 1u << 1;
inline constexpr uint32_t kCstsShutdownMask = 3u << 2;
inline constexpr uint32_t kCstsShutdownProcessing = 1u << 2;
inline constexpr uint32_t kCstsShutdownComplete = 2u << 2;
inline constexpr uint32_t kCstsSubsystemResetOccurred = 1u << 4;  // NSSRO, write 1 to clear

inline constexpr uint32_t kNssrMagic = 0x4e564d65;  // "NVMe"
inline constexpr uint32_t kAqaWritable = 0x0fff0fff;
inline constexpr uint64_t kQueueBaseReserved = 0xfff;  // ASQ/ACQ bits 11:0
inline constexpr uint32_t kMpsMin = 0;                 // 4 KiB pages
inline constexpr uint32_t kMpsMax = 4;                 // 64 KiB pages
inline constexpr uint32_t kMaxDoorbells = 2 * 65536;   // an SQ and a CQ per queue identifier

}  // namespace nvme

// What the ARGS choose. Fixed once the device is made.
struct NvmeConfig {
  uint64_t delay_ns = 5'000'000;  // how long CSTS follows a CC change: RDY, SHST, reset
  uint16_t mqes = 1023;           // CAP.MQES: largest I/O queue, 0's based
  uint8_t dstrd = 0;              // CAP.DSTRD: doorbells are 4 << dstrd bytes apart
  uint8_t timeout_units = 4;      // CAP.TO, in 500 ms units
  uint32_t version = 0x00010400;  // VS: major << 16 | minor << 8 | tertiary
  uint64_t size = 0x4000;         // bytes of BAR0, a multiple of 4096 holding >= 2 doorbells
};

// How many doorbells a BAR of config.size holds (SQ0TDBL, CQ0HDBL, SQ1TDBL...).
inline uint32_t nvme_doorbell_count(const NvmeConfig& config) {
  uint64_t count = (config.size - nvme::kDoorbells) / (uint64_t{4} << config.dstrd);
  return count < nvme::kMaxDoorbells ? static_cast<uint32_t>(count) : nvme::kMaxDoorbells;
}

// One nvme device. Only the functions below touch it once it is made; `doorbells` is owned by
// whoever made the state.
struct NvmeState {
  NvmeConfig config;
  uint32_t* doorbells = nullptr;  // nvme_doorbell_count(config) values written by the host
  uint32_t doorbell_count = 0;
  uint64_t now_ns = 0;  // the latest time given to nvme_advance

  // Registers as the host last set them. asq and acq keep the reserved bits 11:0 as written,
  // so that a misaligned queue fails the enable; reads return them as 0.
  uint32_t cc = 0;
  uint32_t csts = 0;
  uint32_t intms = 0;
  uint32_t aqa = 0;
  uint64_t asq = 0;
  uint64_t acq = 0;

  // CSTS transitions in progress, each done at its time (config.delay_ns after it began).
  bool enabling = false;       // CC.EN 0 -> 1: RDY (or CFS when enable_fails) at enable_done_ns
  bool enable_fails = false;   // the configuration was invalid when EN was set
  bool resetting = false;      // CC.EN 1 -> 0: RDY, CFS, SHST and INTMS cleared at reset_done_ns
  bool shutting_down = false;  // CC.SHN 00 -> 01/10: SHST complete at shutdown_done_ns
  uint64_t enable_done_ns = 0;
  uint64_t reset_done_ns = 0;
  uint64_t shutdown_done_ns = 0;
};

// CAP as the config describes it.
uint64_t nvme_capabilities(const NvmeConfig& config);

// An access of `width` bytes (1, 2, 4 or 8) at `offset`, value little-endian in the low bytes.
// The registers are 32-bit; an access is split into the 32-bit registers it covers, so an
// 8-byte register reads whole or as two halves, and a byte read returns that byte.
uint64_t nvme_read(NvmeState& nvme, uint64_t offset, uint32_t width);
void nvme_write(NvmeState& nvme, uint64_t offset, uint32_t width, uint64_t value);
// Power-on state: every register at its reset value, nothing in progress. Keeps the time.
void nvme_reset(NvmeState& nvme);
// Sets the time (CLOCK_MONOTONIC ns; never goes back) and completes transitions now due.
void nvme_advance(NvmeState& nvme, uint64_t now_ns);

// The model ABI's entry points; `device` is an NvmeState*.
uint64_t nvme_abi_size(void* device);
uint64_t nvme_abi_read(void* device, uint64_t offset, uint32_t width);
void nvme_abi_write(void* device, uint64_t offset, uint32_t width, uint64_t value);
void nvme_abi_reset(void* device);
void nvme_abi_advance(void* device, uint64_t now_ns);

}  // namespace mmiotrace::devices
