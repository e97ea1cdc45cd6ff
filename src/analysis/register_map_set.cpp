// Naming accesses with the register maps a command was given (see register_map_set.hpp).
#include "analysis/register_map_set.hpp"

namespace mmiotrace::analysis {

void RegisterMapSet::add_physical(RegisterMap map) {
  physical_.push_back(std::move(map));
}

bool RegisterMapSet::add_for_mapping(int map_id, RegisterMap map) {
  if (for_mapping_.count(map_id) != 0) return false;
  for_mapping_.emplace(map_id, PlacedMap{std::move(map), RegisterMap(), false});
  return true;
}

void RegisterMapSet::mapped(int map_id, uint64_t phys) {
  auto found = for_mapping_.find(map_id);
  if (found == for_mapping_.end()) return;
  found->second.placed = found->second.given.moved_to(phys);
  found->second.is_placed = true;
}

const RegisterMap* RegisterMapSet::placed_for(int map_id) const {
  auto found = for_mapping_.find(map_id);
  return found != for_mapping_.end() && found->second.is_placed ? &found->second.placed : nullptr;
}

std::string RegisterMapSet::describe(int map_id, uint64_t phys, unsigned width, uint64_t value,
                                     AccessDirection direction) const {
  if (const RegisterMap* own = placed_for(map_id)) {
    std::string name = own->describe(phys, width, value, direction);
    if (!name.empty()) return name;
  }
  for (const RegisterMap& map : physical_) {
    std::string name = map.describe(phys, width, value, direction);
    if (!name.empty()) return name;
  }
  return "";
}

std::string RegisterMapSet::register_name(int map_id, uint64_t phys, unsigned width) const {
  auto name_in = [&](const RegisterMap& map) -> std::string {
    const Register* reg = map.find(phys, width);
    if (reg == nullptr) return "";
    const RegisterBlock& block = map.block_of(*reg);
    std::string name = block.name + "." + reg->name;
    uint64_t start = block.base + reg->offset;
    if (phys != start) name += "+" + std::to_string(phys - start);
    return name;
  };
  if (const RegisterMap* own = placed_for(map_id)) {
    std::string name = name_in(*own);
    if (!name.empty()) return name;
  }
  for (const RegisterMap& map : physical_) {
    std::string name = name_in(map);
    if (!name.empty()) return name;
  }
  return "";
}

}  // namespace mmiotrace::analysis
