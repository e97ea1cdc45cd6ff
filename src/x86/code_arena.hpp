// mmiotrace: signal-safe
// Memory for generated code and for the instruction cache, handed out by any thread, from
// signal handlers: chunks mapped with raw mmap(), carved with atomic bumps, never freed. Memory
// at chosen addresses is mapped only where nothing is (MAP_FIXED_NOREPLACE) and where the heap
// and the main stack will not need it (GrowthRoom, core/process_layout.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmiotrace::x86 {

// `size` bytes of executable (and writable) memory aligned to 16, or null when out of memory.
uint8_t* allocate_code(size_t size);
// `size` bytes of zeroed data memory aligned to 64, or null.
void* allocate_data(size_t size);

// How far from its `near` address allocate_code_near() may place code: a rel32 displacement
// from anywhere in the code reaches anything within kNearReach of `near`.
inline constexpr uint64_t kNearReach = (uint64_t{1} << 31) - (uint64_t{1} << 25);
// Near code comes in chunks of kNearChunkSize, aligned to it, at most kMaxNearChunks of them: the
// code cache's translations, and the records that describe them, live there, so this bounds
// its memory (docs/code-cache.md, "Memory").
inline constexpr size_t kNearChunkSize = size_t{1} << 20;
inline constexpr size_t kMaxNearChunks = 56;
// Near allocations are aligned to kNearGranule, the unit set_near_owner() records owners by.
inline constexpr size_t kNearGranule = 64;

// `size` bytes of executable (and writable) memory aligned to kNearGranule, all of it within
// kNearReach of `near` (for translated code whose RIP-relative operands must still reach the
// program's data), or null when no memory can be had there. Once no chunk can be mapped near
// some place, later requests near it fail at once, with no system call.
uint8_t* allocate_code_near(uintptr_t near, size_t size);
// Whether `address` lies in memory allocate_code_near() handed out chunks of. Any context; a
// few loads.
bool in_near_code(uintptr_t address);
// Records `owner`, an object inside the same near chunk, as the owner of the granules of
// [code, code + size) (an allocation of allocate_code_near()), for near_owner(). Publishes with
// release: what the owner holds must be written before.
void set_near_owner(const uint8_t* code, size_t size, const void* owner);
// The owner recorded for the granule that holds `address`, or null. Any context; no search.
const void* near_owner(uintptr_t address);
// The near memory mapped so far (whole chunks).
size_t near_code_bytes();

// `size` bytes of executable (and writable) memory that begin at an address in [low, high], for
// code whose address other bytes decide (the target of a jump whose displacement is partly made
// of the instructions after it); null when none can be had there. Pages are mapped where the
// window lies, or carved from one mapped before. One caller at a time: entry patching calls it
// holding its lock.
uint8_t* allocate_code_in_window(uintptr_t low, uintptr_t high, size_t size);

}  // namespace mmiotrace::x86
