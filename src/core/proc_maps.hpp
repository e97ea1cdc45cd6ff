// The calling process's memory map, read from /proc/self/maps. Normal context only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/address_range.hpp"

namespace mmiotrace {

struct MapsEntry {
  AddressRange range;
  int protection = 0;  // PROT_* bits
  bool shared = false;
  uint64_t offset = 0;
  std::string path;
};

// All mappings of this process, in address order; empty when /proc is unavailable.
std::vector<MapsEntry> read_own_maps();

// Protection of each page of `pages` (page-aligned), or nothing when a page is not mapped.
std::optional<std::vector<int>> page_protections(AddressRange pages);

}  // namespace mmiotrace
