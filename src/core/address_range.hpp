// mmiotrace: signal-safe
// Addresses in the traced program: half-open byte ranges and page arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmiotrace {

inline constexpr uintptr_t kPageSize = 4096;

constexpr uintptr_t page_floor(uintptr_t address) {
  return address & ~(kPageSize - 1);
}
constexpr uintptr_t page_ceil(uintptr_t address) {
  return (address + kPageSize - 1) & ~(kPageSize - 1);
}

// [begin, end) in the traced process's address space.
struct AddressRange {
  uintptr_t begin = 0;
  uintptr_t end = 0;

  static constexpr AddressRange from_size(uintptr_t begin, size_t size) {
    return {begin, begin + size};
  }
  constexpr size_t size() const { return end - begin; }
  constexpr bool empty() const { return end <= begin; }
  constexpr bool contains(uintptr_t address) const { return address >= begin && address < end; }
  constexpr bool overlaps(const AddressRange& other) const {
    return begin < other.end && other.begin < end;
  }
  // The pages any byte of this range lies on.
  constexpr AddressRange pages() const { return {page_floor(begin), page_ceil(end)}; }
  constexpr bool operator==(const AddressRange&) const = default;
};

}  // namespace mmiotrace
