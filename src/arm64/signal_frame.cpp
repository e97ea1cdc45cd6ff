// mmiotrace: signal-safe
// The registers of the AArch64 signal frame (see signal_frame.hpp).
#include "arm64/signal_frame.hpp"

#include <cstring>

namespace mmiotrace::arm64 {
namespace {

using detail::find_record;
using detail::kScalableRecordMagic;
using detail::kVectorRecordMagic;
using detail::RecordHeader;
// struct sve_context: the header, the vector length in bytes, flags; the Z registers follow at
// kScalableRegistersOffset when the record is longer than this (SVE state is live).
struct ScalableRecord {
  RecordHeader header;
  uint16_t vector_bytes;
  uint16_t flags;
  uint16_t reserved[2];
};
constexpr size_t kScalableRegistersOffset = 16;  // SVE_SIG_REGS_OFFSET

}  // namespace

FrameVectorRegisters* frame_vector_registers(ucontext_t& uc) {
  const RecordHeader* record = find_record(uc, kVectorRecordMagic);
  if (record == nullptr || record->size < sizeof(FrameVectorRegisters)) return nullptr;
  return reinterpret_cast<FrameVectorRegisters*>(const_cast<RecordHeader*>(record));
}

FrameScalableRegisters frame_scalable_registers(const ucontext_t& uc) {
  FrameScalableRegisters out;
  const RecordHeader* record = find_record(uc, kScalableRecordMagic);
  if (record == nullptr || record->size < sizeof(ScalableRecord)) return out;
  const size_t vector_bytes = reinterpret_cast<const ScalableRecord*>(record)->vector_bytes;
  out.vector_bytes = static_cast<unsigned>(vector_bytes);
  const size_t predicate_bytes = vector_bytes / 8;
  // SVE_SIG_ZREGS_OFFSET, then SVE_SIG_PREGS_OFFSET and SVE_SIG_FFR_OFFSET.
  const size_t end = kScalableRegistersOffset + 32 * vector_bytes + 17 * predicate_bytes;
  if (vector_bytes < 16 || record->size < end) return out;
  const auto* base = reinterpret_cast<const uint8_t*>(record) + kScalableRegistersOffset;
  out.z = base;
  out.p = base + 32 * vector_bytes;
  out.ffr = out.p + 16 * predicate_bytes;
  return out;
}

bool load_vectors(ucontext_t& uc, State& state, uint32_t vectors) {
  const FrameVectorRegisters* frame = frame_vector_registers(uc);
  if (frame == nullptr) return false;
  for (uint32_t left = vectors; left != 0; left &= left - 1) {
    const unsigned n = static_cast<unsigned>(__builtin_ctz(left));
    std::memcpy(state.v[n], frame->v[n], sizeof(state.v[n]));
  }
  return true;
}

void store_vectors(const State& state, ucontext_t& uc, uint32_t vectors) {
  if (FrameVectorRegisters* frame = frame_vector_registers(uc)) {
    for (uint32_t left = vectors; left != 0; left &= left - 1) {
      const unsigned n = static_cast<unsigned>(__builtin_ctz(left));
      std::memcpy(frame->v[n], state.v[n], sizeof(frame->v[n]));
    }
  }
  // With live SVE state, the return restores Z0-Z31 from their record, which overrides the
  // FP/SIMD one: a V register written there is the low 128 bits of its Z register, the rest
  // zeroed, as an FP/SIMD write leaves it.
  const FrameScalableRegisters scalable = frame_scalable_registers(uc);
  if (scalable.z == nullptr) return;
  auto* registers = const_cast<uint8_t*>(scalable.z);  // in the frame `uc`, which is ours
  const size_t vector_bytes = scalable.vector_bytes;
  for (uint32_t left = vectors; left != 0; left &= left - 1) {
    const unsigned n = static_cast<unsigned>(__builtin_ctz(left));
    std::memcpy(registers + n * vector_bytes, state.v[n], 16);
    std::memset(registers + n * vector_bytes + 16, 0, vector_bytes - 16);
  }
}

}  // namespace mmiotrace::arm64
