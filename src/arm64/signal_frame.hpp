// mmiotrace: signal-safe
// The registers of an interrupted AArch64 thread in its signal frame (the kernel's, or
// qemu-user's, which lays it out the same way): the general-purpose registers, SP and PC of
// mcontext_t, and the records of its __reserved area (the FP/SIMD registers, the fault's ESR
// when the kernel gives one). Copies them into and out of the emulator's State. Built for
// AArch64 only; any context.
#pragma once

#include <ucontext.h>
#include <cstdint>

#include "arm64/emulator.hpp"

namespace mmiotrace::arm64 {

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
bool frame_fault_syndrome(const ucontext_t& uc, uint64_t* esr);

// The frame's SVE record: the vector length in bytes (0 when there is none: no SVE), and the Z, P
// and FFR registers when SVE state is live in it (null otherwise).
struct FrameScalableRegisters {
  const uint8_t* z = nullptr;    // Z0-Z31, vector_bytes each
  const uint8_t* p = nullptr;    // P0-P15, vector_bytes / 8 each
  const uint8_t* ffr = nullptr;  // vector_bytes / 8
  unsigned vector_bytes = 0;
};
FrameScalableRegisters frame_scalable_registers(const ucontext_t& uc);

// Copies the registers an access may use from `uc` into `state`: X0-X30, SP and PC always, the
// V registers when `vectors` (false when the frame has no FP/SIMD record).
bool load_state(ucontext_t& uc, State& state, bool vectors);
// Copies the V registers only; false when the frame has no FP/SIMD record.
bool load_vectors(ucontext_t& uc, State& state);
// Copies them back; the V registers when `vectors`.
void store_state(const State& state, ucontext_t& uc, bool vectors);

}  // namespace mmiotrace::arm64
