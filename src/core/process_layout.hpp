// mmiotrace: signal-safe
// What mmiotrace needs to know of its own process's layout, read with raw system calls so that
// signal handlers may ask: numeric fields of /proc/self/stat, the mapping that holds an address,
// and where the heap and the main stack will grow, which memory mmiotrace maps for itself must
// leave free.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmiotrace {

// The end of user space (47-bit virtual addresses).
inline constexpr uintptr_t kUserSpaceEnd = uintptr_t{1} << 47;

// Field `field` (numbered as in proc(5): 20 is num_threads, 28 startstack) of /proc/self/stat,
// for the numeric fields from 4 on; -1 when it cannot be read. Any context.
long self_stat_field(int field);

// A line of /proc/self/maps, without its path.
struct SelfMapping {
  uintptr_t start = 0;
  uintptr_t end = 0;
  bool readable = false;
  bool writable = false;
  bool executable = false;
  bool file = false;  // backed by a file (a non-zero inode)
};
// The mapping that holds `address`; false when there is none or the file cannot be read. Any
// context.
bool self_mapping_of(uintptr_t address, SelfMapping* out);

// Room kept free above the program break, and below the main stack on top of its limit.
inline constexpr uint64_t kGrowthRoom = uint64_t{256} << 20;
// The most room kept for the main stack: what an unlimited (or larger) RLIMIT_STACK stands for.
// No stack grows that far in practice (it is more than such machines' memory); and with an
// unlimited stack the kernel lays the program and its libraries out far below it (the legacy
// layout), so code placed near them is never in the stack's way.
inline constexpr uint64_t kMaxStackRoom = uint64_t{1} << 40;

// The room the heap and the main stack keep to grow, as the process stands when now() reads it:
// kGrowthRoom above the current program break, and below the main stack's start its
// RLIMIT_STACK (at most kMaxStackRoom) plus kGrowthRoom.
// Memory mmiotrace maps at chosen addresses must stay out of it, so that the traced program's
// brk() and stack growth fail nowhere they would not untraced. Any context.
class GrowthRoom {
 public:
  static GrowthRoom now();
  // Whether [address, address + size) stays out of the room (false for everything when now()
  // could not read where the stack is).
  bool clear(uintptr_t address, size_t size) const;

 private:
  uintptr_t heap_low_ = 0;  // [heap_low_, heap_high_): none when equal
  uintptr_t heap_high_ = 0;
  uintptr_t stack_low_ = 0;  // [stack_low_, kUserSpaceEnd)
};

}  // namespace mmiotrace
