// mmiotrace: signal-safe
// What mmiotrace needs to know of its own process's layout, read with raw system calls so that
// signal handlers may ask: numeric fields of /proc/self/stat, and where the heap and the main
// stack will grow, which memory mmiotrace maps for itself must leave free.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmiotrace {

// Field `field` (numbered as in proc(5): 20 is num_threads, 28 startstack) of /proc/self/stat,
// for the numeric fields from 4 on; -1 when it cannot be read. Any context.
long self_stat_field(int field);

// Room kept free above the program break, and below the main stack on top of its limit.
inline constexpr uint64_t kGrowthRoom = uint64_t{256} << 20;

// Whether [address, address + size) leaves the heap and the main stack their room to grow:
// nothing of it within kGrowthRoom above the current program break, nor below the main stack's
// start within its RLIMIT_STACK plus kGrowthRoom (with an unlimited stack: nothing in the upper
// half of the address space). Memory mmiotrace maps at chosen addresses must pass this, so
// that the traced program's brk() and stack growth fail nowhere they would not untraced. Any
// context.
bool clear_of_growth(uintptr_t address, size_t size);

}  // namespace mmiotrace
