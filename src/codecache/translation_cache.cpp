// mmiotrace: signal-safe
// The table of translations (see translation_cache.hpp).
#include "codecache/translation_cache.hpp"

#include <atomic>

#include "x86/code_arena.hpp"

namespace mmiotrace::codecache {
namespace {

struct Slot {
  std::atomic<uintptr_t> pc{0};
  std::atomic<const BlockTranslation*> block{nullptr};
};
constinit Slot g_slots[kMaxTranslations];
// Every translation ever published, for the search by cache address.
constinit std::atomic<const BlockTranslation*> g_all[kMaxTranslations];
constinit std::atomic<size_t> g_all_count{0};

size_t slot_of(uintptr_t pc) {
  return static_cast<size_t>((pc * 0x9e3779b97f4a7c15ull) >> 52) % kMaxTranslations;
}

bool same_target(const DivertTarget& a, const DivertTarget& b) {
  return a.low == b.low && a.size == b.size && a.alias_delta == b.alias_delta;
}

// Whether the original code of `block` is still what it was translated from.
bool still_valid(const BlockTranslation& block) {
  uint8_t bytes[kMaxBlockBytes];
  size_t size = block.end - block.start;
  if (read_code(bytes, block.start, size) != static_cast<long>(size)) return false;
  return code_digest_of(bytes, size) == block.code_digest;
}

// How far before a faulting access the head of its loop is looked for.
constexpr uintptr_t kLoopHeadReach = 256;

BlockTranslation* translate_from(uintptr_t start, uintptr_t pc, const DivertTarget& target) {
  auto* block = static_cast<BlockTranslation*>(x86::allocate_data(sizeof(BlockTranslation)));
  if (block == nullptr) return nullptr;
  *block = BlockTranslation();
  const char* why = "";
  if (!translate_block(start, block, &why, &target) || !block->diverts(pc)) return nullptr;
  return block;  // (a block given up is not freed: the arena never frees)
}

// The block for a fault at `pc`: from `pc`, or better from the head of the loop `pc` is in, when
// the block from `pc` branches back a little before it: then the whole loop runs in the cache,
// instead of leaving it at every iteration to come back through a fault.
const BlockTranslation* translate_for(uintptr_t pc, const DivertTarget& target) {
  BlockTranslation* block = translate_from(pc, pc, target);
  if (block == nullptr) return nullptr;
  for (size_t i = 0; i < block->exit_count && i < BlockTranslation::kMaxRecordedExits; ++i) {
    uintptr_t head = block->exit_targets[i];
    if (head >= pc || pc - head > kLoopHeadReach) continue;
    if (BlockTranslation* loop = translate_from(head, pc, target)) {
      block = loop;
      break;
    }
  }
  block->divert_target = target;
  size_t index = g_all_count.fetch_add(1);
  if (index < kMaxTranslations) g_all[index].store(block);
  return block;
}

}  // namespace

const BlockTranslation* diverted_block_at(uintptr_t pc, const DivertTarget& target) {
  size_t start = slot_of(pc);
  for (size_t probe = 0; probe < 16; ++probe) {
    Slot& slot = g_slots[(start + probe) % kMaxTranslations];
    uintptr_t owner = slot.pc.load();
    if (owner == 0) {
      uintptr_t expected = 0;
      if (!slot.pc.compare_exchange_strong(expected, pc) && expected != pc) continue;
      owner = pc;
    }
    if (owner != pc) continue;
    const BlockTranslation* block = slot.block.load();
    if (block != nullptr && same_target(block->divert_target, target) && still_valid(*block)) {
      return block;
    }
    const BlockTranslation* fresh = translate_for(pc, target);
    if (fresh == nullptr) return nullptr;
    slot.block.store(fresh);  // a racing thread's translation may be replaced: both are valid
    return fresh;
  }
  return nullptr;  // the neighbourhood of the slot is full
}

namespace {

// The published translation whose code holds `pc` (instructions and exit stubs), or null.
const BlockTranslation* block_holding(uintptr_t pc) {
  if (!x86::in_near_code(pc)) return nullptr;  // the common case: a fault in the program's own code
  size_t count = g_all_count.load();
  if (count > kMaxTranslations) count = kMaxTranslations;
  for (size_t i = 0; i < count; ++i) {
    const BlockTranslation* block = g_all[i].load();
    if (block == nullptr) continue;
    auto code = reinterpret_cast<uintptr_t>(block->code);
    if (pc >= code && pc < code + block->code_size) return block;
  }
  return nullptr;
}

}  // namespace

uintptr_t original_pc_of(uintptr_t pc) {
  const BlockTranslation* block = block_holding(pc);
  uintptr_t original = block != nullptr ? block->original_pc(pc) : 0;
  return original != 0 ? original : pc;
}

bool in_critical_part(uintptr_t pc) {
  const BlockTranslation* block = block_holding(pc);
  return block != nullptr && block->in_critical_part(pc);
}

bool in_code_cache(uintptr_t pc) {
  return block_holding(pc) != nullptr;
}

}  // namespace mmiotrace::codecache
