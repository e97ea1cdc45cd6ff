// mmiotrace: signal-safe
// The registers of an interrupted AArch64 thread in its signal frame (the kernel's, or
// qemu-user's, which lays it out the same way): the general-purpose registers, SP and PC of
// mcontext_t, and the records of its __reserved area (the FP/SIMD registers, the fault's ESR
// when the kernel gives one). Copies them into and out of the emulator's State. Built for
// AArch64 only; any context.
#pragma once

#include <ucontext.h>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "arm64/emulator.hpp"

namespace mmiotrace::arm64 {
namespace detail {

// The records of __reserved: a header each, the last one's magic 0 (the kernel's ABI,
// arch/arm64/include/uapi/asm/sigcontext.h).
struct RecordHeader {
  uint32_t magic;
  uint32_t size;
};
inline constexpr uint32_t kVectorRecordMagic = 0x46508001;    // FPSIMD_MAGIC
inline constexpr uint32_t kSyndromeRecordMagic = 0x45535201;  // ESR_MAGIC
inline constexpr uint32_t kScalableRecordMagic = 0x53564501;  // SVE_MAGIC

// The record with `magic` in the frame's __reserved area, or null. Inline: every trap asks for
// the ESR.
inline const RecordHeader* find_record(const ucontext_t& uc, uint32_t magic) {
  const auto* area = reinterpret_cast<const uint8_t*>(uc.uc_mcontext.__reserved);
  const size_t area_size = sizeof(uc.uc_mcontext.__reserved);
  size_t offset = 0;
  while (offset + sizeof(RecordHeader) <= area_size) {
    const auto* header = reinterpret_cast<const RecordHeader*>(area + offset);
    if (header->magic == 0 || header->size < sizeof(RecordHeader)) return nullptr;
    if (header->magic == magic) {
      return offset + header->size <= area_size ? header : nullptr;
    }
    offset += header->size;
  }
  return nullptr;
}

}  // namespace detail

// The FP/SIMD record of the frame (V0-V31, FPSR, FPCR), or null when it has none.
struct FrameVectorRegisters {
  uint32_t magic;
  uint32_t size;
  uint32_t fpsr;
  uint32_t fpcr;
  alignas(16) uint8_t v[32][16];
};
FrameVectorRegisters* frame_vector_registers(ucontext_t& uc);

// The ESR_EL1 of the fault, when the frame carries one (the kernel's do; qemu-user's do not).
inline bool frame_fault_syndrome(const ucontext_t& uc, uint64_t* esr) {
  const detail::RecordHeader* record = detail::find_record(uc, detail::kSyndromeRecordMagic);
  if (record == nullptr || record->size < sizeof(detail::RecordHeader) + sizeof(uint64_t)) {
    return false;
  }
  std::memcpy(esr, reinterpret_cast<const uint8_t*>(record) + sizeof(detail::RecordHeader),
              sizeof(uint64_t));
  return true;
}
// Whether an ESR's exception class is an instruction abort (from a lower exception level, or the
// same).
inline bool instruction_abort(uint64_t esr) {
  const uint64_t exception_class = esr >> 26;
  return exception_class == 0x20 || exception_class == 0x21;
}

// The frame's SVE record: the vector length in bytes (0 when there is none: no SVE), and the Z, P
// and FFR registers when SVE state is live in it (null otherwise).
struct FrameScalableRegisters {
  const uint8_t* z = nullptr;    // Z0-Z31, vector_bytes each
  const uint8_t* p = nullptr;    // P0-P15, vector_bytes / 8 each
  const uint8_t* ffr = nullptr;  // vector_bytes / 8
  unsigned vector_bytes = 0;
};
FrameScalableRegisters frame_scalable_registers(const ucontext_t& uc);

// Copies the V registers of `vectors` (bit n: Vn, as vector_registers_of() gives them) only;
// false when the frame has no FP/SIMD record.
bool load_vectors(ucontext_t& uc, State& state, uint32_t vectors);
// Copies those V registers back, and into live SVE state (each one's Z register zero-extended, as
// an FP/SIMD write leaves it; the other Z registers keep their bits).
void store_vectors(const State& state, ucontext_t& uc, uint32_t vectors);

// Copies the registers an access may use from `uc` into `state`: X0-X30, SP and PC always, the
// V registers of `vectors` (false when there are some and the frame has no FP/SIMD record).
inline bool load_state(ucontext_t& uc, State& state, uint32_t vectors) {
  std::memcpy(state.x, uc.uc_mcontext.regs, sizeof(state.x));
  state.sp = uc.uc_mcontext.sp;
  state.pc = uc.uc_mcontext.pc;
  return vectors == 0 || load_vectors(uc, state, vectors);
}
// Copies them back; the V registers of `vectors`.
inline void store_state(const State& state, ucontext_t& uc, uint32_t vectors) {
  std::memcpy(uc.uc_mcontext.regs, state.x, sizeof(state.x));
  uc.uc_mcontext.sp = state.sp;
  uc.uc_mcontext.pc = state.pc;
  if (vectors != 0) store_vectors(state, uc, vectors);
}

}  // namespace mmiotrace::arm64
