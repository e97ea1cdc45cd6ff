// mmiotrace: signal-safe
// The nvme model's register logic: NVMe 1.4 controller registers and their timed transitions.
#include "devices/nvme.hpp"

#include <cstring>

namespace mmiotrace::devices {
namespace {

using namespace nvme;

uint32_t field(uint32_t value, int shift, uint32_t bits) {
  return (value >> shift) & ((1u << bits) - 1);
}

uint32_t merge(uint32_t old_value, uint32_t value, uint32_t byte_mask) {
  return (old_value & ~byte_mask) | (value & byte_mask);
}

uint64_t merge_half(uint64_t old_value, bool high, uint32_t value, uint32_t byte_mask) {
  int shift = high ? 32 : 0;
  uint32_t half = static_cast<uint32_t>(old_value >> shift);
  uint64_t merged = merge(half, value, byte_mask);
  return (old_value & ~(uint64_t{0xffffffff} << shift)) | (merged << shift);
}

// Whether the controller can start with the configuration in CC, AQA, ASQ and ACQ. The spec
// leaves the result of a bad one undefined; the model sets CSTS.CFS, as QEMU's does.
bool configuration_valid(const NvmeState& nvme) {
  uint32_t css = field(nvme.cc, kCcCssShift, 3);
  uint32_t mps = field(nvme.cc, kCcMpsShift, 4);
  uint32_t ams = field(nvme.cc, kCcAmsShift, 3);
  if (css != 0 || ams != 0) return false;  // only the NVM command set and round robin
  if (mps > kMpsMax) return false;         // kMpsMin is 0
  if ((nvme.aqa & 0xfff) == 0 || ((nvme.aqa >> 16) & 0xfff) == 0) return false;  // 2 entries min
  uint64_t page = uint64_t{4096} << mps;
  if (nvme.asq == 0 || nvme.acq == 0) return false;
  return nvme.asq % page == 0 && nvme.acq % page == 0;
}

void clear_doorbells(NvmeState& nvme) {
  if (nvme.doorbell_count > 0) memset(nvme.doorbells, 0, nvme.doorbell_count * sizeof(uint32_t));
}

void finish_reset(NvmeState& nvme) {
  nvme.resetting = false;
  nvme.csts &= kCstsSubsystemResetOccurred;
  nvme.intms = 0;
}

// Completes the transitions due at nvme.now_ns.
void settle(NvmeState& nvme) {
  if (nvme.resetting && nvme.now_ns >= nvme.reset_done_ns) finish_reset(nvme);
  if (nvme.enabling && nvme.now_ns >= nvme.enable_done_ns) {
    nvme.enabling = false;
    nvme.csts |= nvme.enable_fails ? kCstsFatal : kCstsReady;
  }
  if (nvme.shutting_down && nvme.now_ns >= nvme.shutdown_done_ns) {
    nvme.shutting_down = false;
    nvme.csts = (nvme.csts & ~kCstsShutdownMask) | kCstsShutdownComplete;
  }
}

void write_cc(NvmeState& nvme, uint32_t cc) {
  uint32_t old = nvme.cc;
  nvme.cc = cc;
  bool was_enabled = (old & kCcEnable) != 0;
  bool enabled = (cc & kCcEnable) != 0;
  if (!was_enabled && enabled) {
    if (nvme.resetting) finish_reset(nvme);  // the host did not wait for RDY = 0
    nvme.enabling = true;
    nvme.enable_fails = !configuration_valid(nvme);
    nvme.enable_done_ns = nvme.now_ns + nvme.config.delay_ns;
  } else if (was_enabled && !enabled) {
    // Controller reset: queues are deleted now; RDY, CFS, SHST and the registers clear when it
    // completes. AQA, ASQ and ACQ are kept (NVMe 1.4 section 7.3.2), and so is CC as written.
    nvme.enabling = false;
    nvme.shutting_down = false;
    clear_doorbells(nvme);
    nvme.resetting = true;
    nvme.reset_done_ns = nvme.now_ns + nvme.config.delay_ns;
    return;
  }
  if (field(old, kCcShnShift, 2) == 0 && field(cc, kCcShnShift, 2) != 0) {
    nvme.csts = (nvme.csts & ~kCstsShutdownMask) | kCstsShutdownProcessing;
    nvme.shutting_down = true;
    nvme.shutdown_done_ns = nvme.now_ns + nvme.config.delay_ns;
  }
}

uint32_t read_register(const NvmeState& nvme, uint64_t offset) {
  switch (offset) {
    case kCap:
      return static_cast<uint32_t>(nvme_capabilities(nvme.config));
    case kCap + 4:
      return static_cast<uint32_t>(nvme_capabilities(nvme.config) >> 32);
    case kVs:
      return nvme.config.version;
    case kIntms:
    case kIntmc:
      return nvme.intms;
    case kCc:
      return nvme.cc;
    case kCsts:
      return nvme.csts;
    case kAqa:
      return nvme.aqa;
    case kAsq:
      return static_cast<uint32_t>(nvme.asq & ~kQueueBaseReserved);
    case kAsq + 4:
      return static_cast<uint32_t>(nvme.asq >> 32);
    case kAcq:
      return static_cast<uint32_t>(nvme.acq & ~kQueueBaseReserved);
    case kAcq + 4:
      return static_cast<uint32_t>(nvme.acq >> 32);
    default:
      return 0;  // NSSR, reserved registers and the doorbells
  }
}

// A write of the bytes of `value` selected by `byte_mask` to the 32-bit register at `offset`.
void write_register(NvmeState& nvme, uint64_t offset, uint32_t value, uint32_t byte_mask) {
  value &= byte_mask;
  switch (offset) {
    case kIntms:
      nvme.intms |= value;
      return;
    case kIntmc:
      nvme.intms &= ~value;
      return;
    case kCc:
      write_cc(nvme, merge(nvme.cc, value, byte_mask) & kCcWritable);
      return;
    case kCsts:
      nvme.csts &= ~(value & kCstsSubsystemResetOccurred);
      return;
    case kNssr:
      if (byte_mask == 0xffffffff && value == kNssrMagic) {
        nvme_reset(nvme);
        nvme.csts = kCstsSubsystemResetOccurred;
      }
      return;
    case kAqa:
      nvme.aqa = merge(nvme.aqa, value, byte_mask) & kAqaWritable;
      return;
    case kAsq:
    case kAsq + 4:
      nvme.asq = merge_half(nvme.asq, offset != kAsq, value, byte_mask);
      return;
    case kAcq:
    case kAcq + 4:
      nvme.acq = merge_half(nvme.acq, offset != kAcq, value, byte_mask);
      return;
    default:
      break;
  }
  if (offset < kDoorbells) return;  // read-only or reserved
  uint64_t stride = uint64_t{4} << nvme.config.dstrd;
  uint64_t relative = offset - kDoorbells;
  if (relative % stride != 0 || relative / stride >= nvme.doorbell_count) return;
  uint32_t& doorbell = nvme.doorbells[relative / stride];
  doorbell = merge(doorbell, value, byte_mask) & 0xffff;  // bits 31:16 are reserved
}

}  // namespace

uint64_t nvme_capabilities(const NvmeConfig& config) {
  return uint64_t{config.mqes}                   // MQES
         | uint64_t{1} << 16                     // CQR: contiguous queues required
         | uint64_t{config.timeout_units} << 24  // TO
         | uint64_t{config.dstrd} << 32          // DSTRD
         | uint64_t{1} << 36                     // NSSRS: NVM subsystem reset supported
         | uint64_t{1} << 37                     // CSS: the NVM command set
         | uint64_t{kMpsMin} << 48               // MPSMIN
         | uint64_t{kMpsMax} << 52;              // MPSMAX
}

uint64_t nvme_read(NvmeState& nvme, uint64_t offset, uint32_t width) {
  uint64_t value = 0;
  for (uint32_t done = 0; done < width && done < 8;) {
    uint64_t at = offset + done;
    if (at >= nvme.config.size) break;
    uint32_t in_register = static_cast<uint32_t>(at & 3);
    uint32_t bytes = 4 - in_register < width - done ? 4 - in_register : width - done;
    uint64_t part = read_register(nvme, at - in_register) >> (8 * in_register);
    if (bytes < 4) part &= (uint64_t{1} << (8 * bytes)) - 1;
    value |= part << (8 * done);
    done += bytes;
  }
  return value;
}

void nvme_write(NvmeState& nvme, uint64_t offset, uint32_t width, uint64_t value) {
  for (uint32_t done = 0; done < width && done < 8;) {
    uint64_t at = offset + done;
    if (at >= nvme.config.size) break;
    uint32_t in_register = static_cast<uint32_t>(at & 3);
    uint32_t bytes = 4 - in_register < width - done ? 4 - in_register : width - done;
    uint32_t byte_mask =
        static_cast<uint32_t>(((uint64_t{1} << (8 * bytes)) - 1) << (8 * in_register));
    uint32_t part = static_cast<uint32_t>((value >> (8 * done)) << (8 * in_register));
    write_register(nvme, at - in_register, part, byte_mask);
    done += bytes;
  }
  settle(nvme);  // a transition with no delay is done at once
}

void nvme_reset(NvmeState& nvme) {
  nvme.cc = 0;
  nvme.csts = 0;
  nvme.intms = 0;
  nvme.aqa = 0;
  nvme.asq = 0;
  nvme.acq = 0;
  nvme.enabling = false;
  nvme.enable_fails = false;
  nvme.resetting = false;
  nvme.shutting_down = false;
  clear_doorbells(nvme);
}

void nvme_advance(NvmeState& nvme, uint64_t now_ns) {
  if (now_ns > nvme.now_ns) nvme.now_ns = now_ns;
  settle(nvme);
}

uint64_t nvme_abi_size(void* device) {
  return static_cast<NvmeState*>(device)->config.size;
}
uint64_t nvme_abi_read(void* device, uint64_t offset, uint32_t width) {
  return nvme_read(*static_cast<NvmeState*>(device), offset, width);
}
void nvme_abi_write(void* device, uint64_t offset, uint32_t width, uint64_t value) {
  nvme_write(*static_cast<NvmeState*>(device), offset, width, value);
}
void nvme_abi_reset(void* device) {
  nvme_reset(*static_cast<NvmeState*>(device));
}
void nvme_abi_advance(void* device, uint64_t now_ns) {
  nvme_advance(*static_cast<NvmeState*>(device), now_ns);
}

}  // namespace mmiotrace::devices
