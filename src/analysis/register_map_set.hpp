// The register maps a command was given (`--regs MAP`, `--regs MAPID=MAP`) and the naming of a
// trace's accesses with them: maps of physical addresses, and maps placed at a mapping's first
// byte. Shared by dump, report and convert --to perfetto. Normal context.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "analysis/register_map.hpp"

namespace mmiotrace::analysis {

class RegisterMapSet {
 public:
  // A map whose addresses are physical addresses. Maps are consulted in the order added.
  void add_physical(RegisterMap map);
  // A map for map id `map_id` only, its lowest base placed at the mapping's first byte. False
  // when that map id already has one.
  bool add_for_mapping(int map_id, RegisterMap map);
  bool empty() const { return physical_.empty() && for_mapping_.empty(); }

  // The trace mapped `map_id` at `phys`: its own map (if any) moves there.
  void mapped(int map_id, uint64_t phys);

  // Names an access of `width` (1 to 8) bytes at physical address `phys` of map `map_id`
  // (RegisterMap::describe()): the mapping's own map first, then the physical ones. Empty when
  // none covers it.
  std::string describe(int map_id, uint64_t phys, unsigned width, uint64_t value,
                       AccessDirection direction) const;
  // Just the register that holds the `width` bytes at `phys`: "BLOCK.REG", or "BLOCK.REG+2" from
  // inside it. Empty when none does.
  std::string register_name(int map_id, uint64_t phys, unsigned width) const;

 private:
  struct PlacedMap {
    RegisterMap given;
    RegisterMap placed;  // `given` moved to the mapping's first byte (empty until mapped)
    bool is_placed = false;
  };
  const RegisterMap* placed_for(int map_id) const;

  std::vector<RegisterMap> physical_;
  std::map<int, PlacedMap> for_mapping_;
};

}  // namespace mmiotrace::analysis
