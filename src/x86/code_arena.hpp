// mmiotrace: signal-safe
// Memory for generated code and for the instruction cache, handed out by any thread, from
// signal handlers: chunks mapped with raw mmap(), carved with atomic bumps, never freed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmiotrace::x86 {

// `size` bytes of executable (and writable) memory aligned to 16, or null when out of memory.
uint8_t* allocate_code(size_t size);
// `size` bytes of zeroed data memory aligned to 64, or null.
void* allocate_data(size_t size);

}  // namespace mmiotrace::x86
