// mmiotrace: signal-safe
// Patching hot entries of the code cache into the program's code (see entry_patch.hpp).
#include "codecache/entry_patch.hpp"

#include <Zydis/Zydis.h>
#include <sys/mman.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstring>

#include "codecache/policy.hpp"
#include "core/process_layout.hpp"
#include "core/syscall.hpp"
#include "x86/code_arena.hpp"

namespace mmiotrace::codecache {
namespace {

constexpr uintptr_t kPage = 4096;
constexpr uint8_t kInt3 = 0xcc;
constexpr uint8_t kJumpRel32 = 0xe9;
constexpr uint8_t kIgnoredPrefix = 0x26;     // ES override: no effect on a jmp rel32 in 64-bit mode
constexpr int kMembarrierSyncCore = 1 << 5;  // MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE
constexpr int kMembarrierRegisterSyncCore = 1 << 6;  // ... its registration
constexpr uint64_t kMaxSweptBytes = uint64_t{256} << 20;

// kAwaitingSweep: hot, but whether a branch targets the bytes under its jump needs its mapping's
// sweep, which the traps counted so far do not pay for yet.
enum SlotState : uint8_t { kCounting, kAwaitingSweep, kPatching, kPatched, kRemoving, kRefused };

// One site that traps into the code cache. `site` is claimed by CAS and never changes after;
// the other fields are written only by the holder of g_busy (or, for `traps`, atomically).
struct PatchSlot {
  std::atomic<uintptr_t> site{0};
  std::atomic<uint32_t> traps{0};
  std::atomic<uint8_t> state{kCounting};
  uint8_t written = 0;  // the bytes from `site` the patch replaced: the site's, or five
  uint8_t reach = 0;    // the bytes from `site` its jump is made of (>= written)
  uint8_t original[kEntryJumpBytes] = {};  // the first `written` are used
  uint8_t jump[kEntryJumpBytes] = {};
  uint8_t* stub = nullptr;  // kept when the patch is taken out, for the next one to reuse
  uint8_t mapping = 0;      // kAwaitingSweep: its code mapping's index in g_mappings
};

constinit PatchSlot g_slots[kMaxEntryPatches];
constinit std::atomic<bool> g_enabled{true};
constinit std::atomic<bool> g_busy{false};  // a patch is being made or taken out
constinit std::atomic<size_t> g_patched{0};
constinit std::atomic<int> g_sync_core{-1};  // membarrier SYNC_CORE: -1 not tried, 0 no, 1 yes

size_t slot_index(uintptr_t site) {
  return static_cast<size_t>((site * 0x9e3779b97f4a7c15ull) >> 50) % kMaxEntryPatches;
}

// The slot of `site`, claimed when `claim` (null when the neighbourhood is full, or not found).
PatchSlot* slot_of(uintptr_t site, bool claim) {
  size_t start = slot_index(site);
  for (size_t probe = 0; probe < 16; ++probe) {
    PatchSlot& slot = g_slots[(start + probe) % kMaxEntryPatches];
    uintptr_t owner = slot.site.load(std::memory_order_acquire);
    if (owner == site) return &slot;
    if (owner == 0) {
      if (!claim) return nullptr;
      uintptr_t expected = 0;
      if (slot.site.compare_exchange_strong(expected, site) || expected == site) return &slot;
    }
  }
  return nullptr;
}

// --- The direct branch targets of a code mapping --------------------------------------------
//
// Whether a direct branch of a mapping targets given bytes is answered so that a short program
// does not pay for what it never gets back (docs/code-cache.md, Branch targets):
//  - branches with an 8-bit displacement lie near their target: the code around the bytes is
//    decoded from each place the sweep's stream of instructions may pass through there
//    (near_branch_may_target()), a superset of the sweep's short branches;
//  - the mapping's **candidates**: every byte that some byte of the mapping, read as the opcode
//    of a branch with a 16- or 32-bit displacement (E8, E9, 0F 80-8F, after 66 or not), would
//    target, whatever the instruction boundaries: a superset of the sweep's long branches, found
//    by a scan of the bytes with no decoding;
//  - the mapping's **targets**, found by a linear sweep that decodes every instruction (about
//    22 ns a byte: 40 ms for libc's 1.8 MB), made only where one of the above marks the bytes
//    asked about, and only once the entries that patches of the mapping would save have paid
//    for it: each diverted trap at a site that waits for the sweep counts for
//    kSweptBytesPerTrap bytes.

struct CodeMapping {
  uintptr_t start = 0;
  uintptr_t end = 0;
  const uint8_t* candidates = nullptr;      // a bit per byte of [start, end)
  const uint8_t* targets = nullptr;         // ... once swept (null before)
  std::atomic<uint64_t> awaiting_traps{0};  // diverted traps of sites that wait for the sweep
};
constexpr size_t kMaxCodeMappings = 32;
constinit CodeMapping g_mappings[kMaxCodeMappings];  // written by the holder of g_busy only
constinit std::atomic<size_t> g_mapping_count{0};
// A window of code read at a time by the scan and the sweep (the holder of g_busy only).
constinit uint8_t g_window[64 * 1024];
constexpr size_t kLongestInstruction = 15;

// Whether the sweep of `mapping` has been paid for by the traps of the sites that wait for it
// (at once under the eager policy).
bool sweep_paid_for(const CodeMapping& mapping) {
  if (code_cache_policy() == CodeCachePolicy::Eager) return true;
  uint64_t size = mapping.end - mapping.start;
  return mapping.awaiting_traps.load(std::memory_order_relaxed) * kSweptBytesPerTrap >= size;
}

uint8_t* map_bitmap(uint64_t size) {
  size_t bitmap_bytes = (size / 8 + kPage - 1) & ~(kPage - 1);
  long memory =
      sys::mmap(0, bitmap_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return memory < 0 ? nullptr : reinterpret_cast<uint8_t*>(memory);
}

void mark(uint8_t* bits, uint64_t size, int64_t target) {
  if (target >= 0 && static_cast<uint64_t>(target) < size)
    bits[target / 8] |= static_cast<uint8_t>(1u << (target % 8));
}

template <typename T>
int64_t signed_at(const uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof(value));
  return value;
}

// Reads [start, start + size) into g_window a window at a time with read_code() (a page the file
// no longer backs ends nothing), and calls `visit(offset, available, limit)` on each: `available`
// bytes read from `offset`, of which those before `limit` may start an instruction (one that fits
// wholly in the window, unless it reaches the end). The visitor returns how many bytes it is done
// with; the next window starts after them.
template <typename Visit>
void for_each_window(uintptr_t start, uint64_t size, Visit visit) {
  for (uint64_t offset = 0; offset < size;) {
    size_t want =
        size - offset < sizeof(g_window) ? static_cast<size_t>(size - offset) : sizeof(g_window);
    long got = read_code(g_window, start + offset, want);
    if (got <= 0) {
      offset = (offset + kPage) & ~uint64_t{kPage - 1};  // unreadable: on to the next page
      continue;
    }
    auto available = static_cast<size_t>(got);
    bool last = offset + available >= size;
    size_t limit =
        last || available <= kLongestInstruction ? available : available - kLongestInstruction;
    offset += visit(offset, available, limit);
  }
}

// What a byte, read as an opcode, may start: a branch with a 32-bit displacement (E8, E9), a
// two-byte opcode (0F: a Jcc rel32 when 80-8F follows), or an operand-size prefix (66: a decoder
// may read the displacement after it as 16-bit, AMD's reading). (Branches with an 8-bit
// displacement are near their targets: near_branch_may_target() finds them.)
enum OpcodeKind : uint8_t { kNoBranch, kRel32, kTwoByte, kOperandSize };
constexpr auto kOpcodeKinds = [] {
  std::array<uint8_t, 256> kinds{};
  kinds[0xe8] = kinds[0xe9] = kRel32;
  kinds[0x0f] = kTwoByte;
  kinds[0x66] = kOperandSize;
  return kinds;
}();

// The candidates of [start, start + size): see above.
const uint8_t* scan_candidates(uintptr_t start, uint64_t size) {
  uint8_t* bits = map_bitmap(size);
  if (bits == nullptr) return nullptr;
  for_each_window(start, size, [bits, size](uint64_t offset, size_t available, size_t limit) {
    const uint8_t* w = g_window;
    const auto base = static_cast<int64_t>(offset);
    for (size_t i = 0; i < limit; ++i) {
      const uint8_t kind = kOpcodeKinds[w[i]];
      if (__builtin_expect(kind == kNoBranch, 1)) continue;
      const size_t left = available - i;  // bytes from the opcode on
      const auto at = base + static_cast<int64_t>(i);
      if (kind == kRel32 && left >= 5) {
        mark(bits, size, at + 5 + signed_at<int32_t>(w + i + 1));
      } else if (kind == kTwoByte && left >= 6 && (w[i + 1] & 0xf0) == 0x80) {
        mark(bits, size, at + 6 + signed_at<int32_t>(w + i + 2));
      } else if (kind == kOperandSize && left >= 4) {
        if (w[i + 1] == 0xe8 || w[i + 1] == 0xe9) {
          mark(bits, size, at + 4 + signed_at<int16_t>(w + i + 2));
        } else if (left >= 5 && w[i + 1] == 0x0f && (w[i + 2] & 0xf0) == 0x80) {
          mark(bits, size, at + 5 + signed_at<int16_t>(w + i + 3));
        }
      }
    }
    return limit;
  });
  return bits;
}

// The targets of [start, start + size): a linear sweep of its code (see above).
const uint8_t* sweep_targets(uintptr_t start, uint64_t size) {
  uint8_t* bits = map_bitmap(size);
  if (bits == nullptr) return nullptr;
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  for_each_window(
      start, size, [&decoder, bits, size](uint64_t offset, size_t available, size_t limit) {
        size_t i = 0;
        while (i < limit) {
          ZydisDecoderContext context;
          ZydisDecodedInstruction instruction;
          if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, &context, g_window + i,
                                                          available - i, &instruction))) {
            ++i;  // not code (padding, data): resynchronise on the next byte
            continue;
          }
          ZydisInstructionCategory category = instruction.meta.category;
          bool branch = category == ZYDIS_CATEGORY_COND_BR ||
                        category == ZYDIS_CATEGORY_UNCOND_BR || category == ZYDIS_CATEGORY_CALL;
          if (branch && instruction.raw.imm[0].is_relative) {
            mark(bits, size,
                 static_cast<int64_t>(offset + i + instruction.length) +
                     instruction.raw.imm[0].value.s);
          }
          i += instruction.length;
        }
        return i;
      });
  return bits;
}

bool is_read_only_code(const SelfMapping& mapping) {
  return mapping.file && mapping.readable && mapping.executable && !mapping.writable;
}

// The code mapping that holds `mapping` (its candidates scanned when it is new; null when it
// cannot be). A patch's mprotect() may have split a library's code into several mappings: a
// new one takes in the read-only code mappings that adjoin it, so that a sweep sees the branches
// of the whole code. (Were two files' code to adjoin, the sweep would see more branches than
// could reach the site: a patch refused, never a wrong one.)
CodeMapping* code_mapping(const SelfMapping& mapping) {
  size_t count = g_mapping_count.load(std::memory_order_acquire);
  for (size_t i = 0; i < count; ++i) {
    if (g_mappings[i].start <= mapping.start && mapping.end <= g_mappings[i].end)
      return &g_mappings[i];
  }
  SelfMapping whole = mapping;
  for (SelfMapping next;
       self_mapping_of(whole.end, &next) && next.start == whole.end && is_read_only_code(next);) {
    whole.end = next.end;
  }
  for (SelfMapping previous; whole.start > 0 && self_mapping_of(whole.start - 1, &previous) &&
                             previous.end == whole.start && is_read_only_code(previous);) {
    whole.start = previous.start;
  }
  uint64_t size = whole.end - whole.start;
  if (size > kMaxSweptBytes || count == kMaxCodeMappings) return nullptr;
  const uint8_t* candidates = scan_candidates(whole.start, size);
  if (candidates == nullptr) return nullptr;
  CodeMapping& code = g_mappings[count];
  code.start = whole.start;
  code.end = whole.end;
  code.candidates = candidates;
  code.targets = nullptr;
  code.awaiting_traps.store(0, std::memory_order_relaxed);
  g_mapping_count.store(count + 1, std::memory_order_release);
  return &code;
}

bool marked(const uint8_t* bits, const CodeMapping& mapping, uintptr_t address) {
  uint64_t offset = address - mapping.start;
  return (bits[offset / 8] >> (offset % 8)) & 1;
}

// Whether a branch with an 8-bit displacement that the sweep would find may target a byte of
// [from, to) (at most kEntryJumpBytes of them): the code around them is decoded linearly from
// each of the 15 bytes where the sweep's last instruction boundary before them may lie, and the
// union of the branches found is a superset of the sweep's (from that boundary on, one of these
// decodes is the sweep's). Such a branch starts at most 128 + 15 bytes before or 128 after its
// target. True too when the code there cannot be read.
bool near_branch_may_target(const CodeMapping& mapping, uintptr_t from, uintptr_t to) {
  constexpr uintptr_t kBefore = 2 * kLongestInstruction + 128;  // first decode's start
  constexpr uintptr_t kAfter = 128 + 2 * kLongestInstruction;   // past the last branch's end
  const uintptr_t low = from - mapping.start > kBefore ? from - kBefore : mapping.start;
  const uintptr_t high = mapping.end - to > kAfter ? to + kAfter : mapping.end;
  uint8_t code[kBefore + kEntryJumpBytes + kAfter];
  const size_t size = high - low;
  if (size > sizeof(code) || read_code(code, low, size) != static_cast<long>(size)) return true;
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  // The sweep starts at the mapping's first byte: from there one decode is enough.
  const size_t starts = low == mapping.start ? 1 : kLongestInstruction;
  for (size_t first = 0; first < starts; ++first) {
    for (size_t i = first; i < size;) {
      ZydisDecoderContext context;
      ZydisDecodedInstruction instruction;
      if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, &context, code + i, size - i,
                                                      &instruction))) {
        ++i;
        continue;
      }
      ZydisInstructionCategory category = instruction.meta.category;
      bool branch = category == ZYDIS_CATEGORY_COND_BR || category == ZYDIS_CATEGORY_UNCOND_BR ||
                    category == ZYDIS_CATEGORY_CALL;
      if (branch && instruction.raw.imm[0].is_relative && instruction.raw.imm[0].size == 8) {
        const int64_t target =
            static_cast<int64_t>(low + i + instruction.length) + instruction.raw.imm[0].value.s;
        if (target >= static_cast<int64_t>(from) && target < static_cast<int64_t>(to)) return true;
      }
      i += instruction.length;
    }
  }
  return false;
}

// Whether a direct branch of `mapping` targets a byte of [from, to): answered by the candidates
// when they can, else by the targets, swept now when the sweep has been paid for. Patched when
// none does, BranchTarget when one does, AwaitingSweep when only an unpaid sweep could tell.
PatchOutcome branches_into(CodeMapping& mapping, uintptr_t from, uintptr_t to) {
  bool candidate = false;
  for (uintptr_t at = from; at < to && !candidate; ++at)
    candidate = marked(mapping.candidates, mapping, at);
  if (!candidate && !near_branch_may_target(mapping, from, to)) return PatchOutcome::Patched;
  if (mapping.targets == nullptr) {
    if (!sweep_paid_for(mapping)) return PatchOutcome::AwaitingSweep;
    mapping.targets = sweep_targets(mapping.start, mapping.end - mapping.start);
    // (No memory for the targets: as if targeted.)
    if (mapping.targets == nullptr) return PatchOutcome::BranchTarget;
  }
  for (uintptr_t at = from; at < to; ++at) {
    if (marked(mapping.targets, mapping, at)) return PatchOutcome::BranchTarget;
  }
  return PatchOutcome::Patched;
}

// --- Writing code ----------------------------------------------------------------------------

// Whether membarrier(SYNC_CORE) works here (registered on first use).
bool can_sync_cores() {
  if (g_sync_core.load(std::memory_order_relaxed) < 0) {
    g_sync_core.store(sys::membarrier(kMembarrierRegisterSyncCore) == 0 ? 1 : 0);
  }
  return g_sync_core.load(std::memory_order_relaxed) == 1;
}

// Makes every thread of the process execute a serializing instruction before it runs on.
void sync_cores() {
  if (can_sync_cores()) sys::membarrier(kMembarrierSyncCore);
}

// The pages of the `count` bytes at `site`, made writable (true) or given back their protection.
bool make_writable(uintptr_t site, size_t count, bool writable) {
  uintptr_t first = site & ~(kPage - 1);
  uintptr_t end = (site + count + kPage - 1) & ~(kPage - 1);
  int protection = PROT_READ | PROT_EXEC | (writable ? PROT_WRITE : 0);
  return sys::mprotect(first, end - first, protection) == 0;
}

// One byte of the program's code. A plain store instruction, which sanitizers do not see: their
// shadow of code is not writable (ThreadSanitizer's store to it faulted).
void store_code_byte(uintptr_t at, uint8_t value) {
  asm volatile("movb %1, (%0)" : : "r"(at), "q"(value) : "memory");
}

// Replaces the `count` bytes at `site` with `bytes`, by the int3 protocol. The pages must be
// writable.
void write_site(uintptr_t site, const uint8_t* bytes, size_t count) {
  store_code_byte(site, kInt3);
  sync_cores();
  for (size_t i = 1; i < count; ++i)
    store_code_byte(site + i, bytes[i]);
  sync_cores();
  store_code_byte(site, bytes[0]);
  sync_cores();
}

// A patch's stub: `jmp *disp(%rip)` through an aligned 8-byte slot that holds the translation's
// address, so that a stub reused by a later patch of its site gets its new address in one store
// (a thread interrupted at the stub, while the patch was out, then goes on to the new one).
constexpr uint8_t kJumpThroughSlot[] = {0xff, 0x25};
constexpr size_t kStubBytes = 6 + 7 + 8;  // the jmp, padding to the slot, the slot

void set_stub(uint8_t* stub, uintptr_t cache_pc) {
  auto after_jump = reinterpret_cast<uintptr_t>(stub) + 6;
  uintptr_t slot = (after_jump + 7) & ~uintptr_t{7};
  auto displacement = static_cast<uint32_t>(slot - after_jump);
  std::memcpy(stub, kJumpThroughSlot, sizeof(kJumpThroughSlot));
  std::memcpy(stub + 2, &displacement, sizeof(displacement));
  __atomic_store_n(reinterpret_cast<uint64_t*>(slot), uint64_t{cache_pc}, __ATOMIC_RELEASE);
}

// What a patch will write.
struct PatchPlan {
  uint8_t written = 0;
  uint8_t reach = 0;
  uint8_t jump[kEntryJumpBytes] = {};
  uint8_t* stub = nullptr;
};

// Whether a patch made or being made at another site has a jump that overlaps [site, site + reach):
// a jump over a site alone is partly made of the bytes after it, which must then never change.
bool overlaps_another_patch(uintptr_t site, size_t reach) {
  for (const PatchSlot& other : g_slots) {
    uintptr_t at = other.site.load(std::memory_order_acquire);
    if (at == 0 || at == site) continue;
    uint8_t state = other.state.load(std::memory_order_acquire);
    if (state != kPatching && state != kPatched) continue;
    if (at < site + reach && site < at + other.reach) return true;
  }
  return false;
}

// A five-byte jump at `site` (over a site at least that long, or over the site and the
// instructions after it), to a stub within rel32 reach.
PatchOutcome plan_whole_jump(const PatchSlot& slot, uintptr_t site, uintptr_t cache_pc,
                             PatchPlan* plan) {
  if (overlaps_another_patch(site, kEntryJumpBytes)) return PatchOutcome::Overlap;
  const uintptr_t end = site + kEntryJumpBytes;
  auto reaches = [end](const uint8_t* stub) {
    int64_t displacement = reinterpret_cast<intptr_t>(stub) - static_cast<intptr_t>(end);
    return displacement == static_cast<int32_t>(displacement);
  };
  uint8_t* stub = slot.stub != nullptr && reaches(slot.stub)
                      ? slot.stub
                      : x86::allocate_code_near(site, kStubBytes);
  if (stub == nullptr || !reaches(stub)) return PatchOutcome::NoMemory;
  set_stub(stub, cache_pc);
  auto rel32 = static_cast<int32_t>(reinterpret_cast<intptr_t>(stub) - static_cast<intptr_t>(end));
  plan->written = kEntryJumpBytes;
  plan->reach = kEntryJumpBytes;
  plan->jump[0] = kJumpRel32;
  std::memcpy(plan->jump + 1, &rel32, sizeof(rel32));
  plan->stub = stub;
  return PatchOutcome::Patched;
}

// A jump that replaces only the site's own `length` bytes (fewer than five): its displacement's
// high bytes are the code after the site, and its stub is placed where that lets it lead. No
// other thread can be inside the bytes it replaces, whatever it runs.
PatchOutcome plan_jump_over_site(const PatchSlot& slot, uintptr_t site, size_t length,
                                 const SelfMapping& mapping, uintptr_t cache_pc, PatchPlan* plan) {
  uint8_t code[kMaxPaddedJumpBytes];
  size_t readable = mapping.end - site < sizeof(code) ? mapping.end - site : sizeof(code);
  long got = read_code(code, site, readable);
  if (got < static_cast<long>(kEntryJumpBytes)) return PatchOutcome::NoWindow;
  bool overlap = false;
  for (size_t prefixes = 0; prefixes < length; ++prefixes) {
    size_t reach = kEntryJumpBytes + prefixes;
    if (reach > static_cast<size_t>(got)) break;
    if (overlaps_another_patch(site, reach)) {
      overlap = true;
      break;  // (a longer jump overlaps it too)
    }
    JumpWindow window;
    if (!jump_window(site, code, length, prefixes, &window)) continue;
    auto in_window = [&window](const uint8_t* stub) {
      auto at = reinterpret_cast<uintptr_t>(stub);
      return at >= window.low && at <= window.high;
    };
    uint8_t* stub = slot.stub != nullptr && in_window(slot.stub)
                        ? slot.stub
                        : x86::allocate_code_in_window(window.low, window.high, kStubBytes);
    if (stub == nullptr || !in_window(stub)) continue;
    set_stub(stub, cache_pc);
    auto displacement = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(stub) - (site + reach));
    plan->written = static_cast<uint8_t>(length);
    plan->reach = static_cast<uint8_t>(reach);
    std::memset(plan->jump, kIgnoredPrefix, prefixes);
    plan->jump[prefixes] = kJumpRel32;
    for (size_t i = prefixes + 1; i < length; ++i) {
      plan->jump[i] = static_cast<uint8_t>(displacement >> (8 * (i - prefixes - 1)));
    }
    plan->stub = stub;
    return PatchOutcome::Patched;
  }
  return overlap ? PatchOutcome::Overlap : PatchOutcome::NoWindow;
}

// Whether a five-byte jump over the site and the instructions after it leaves every way into
// them through the site: Patched, NotStraightLine, BranchTarget or AwaitingSweep.
PatchOutcome check_covered(uintptr_t site, const BlockTranslation& block, CodeMapping& mapping) {
  for (uintptr_t at = site; at < site + kEntryJumpBytes;) {
    const TranslatedInstruction* instruction = block.instruction_at(at);
    if (instruction == nullptr) return PatchOutcome::NotStraightLine;
    at += instruction->length;
  }
  if (site + kEntryJumpBytes > mapping.end) return PatchOutcome::NotStraightLine;
  return branches_into(mapping, site + 1, site + kEntryJumpBytes);
}

// Chooses the patch of `site` by the rules (entry_patch.hpp), and what it writes.
// AwaitingSweep names the code mapping in `*awaiting`.
PatchOutcome plan_patch(const PatchSlot& slot, uintptr_t site, const BlockTranslation& block,
                        PatchPlan* plan, CodeMapping** awaiting) {
  const TranslatedInstruction* first = block.instruction_at(site);
  if (first == nullptr) return PatchOutcome::NotStraightLine;
  const size_t length = first->length;
  const uintptr_t inside_end = site + (length < kEntryJumpBytes ? length : kEntryJumpBytes);
  SelfMapping mapping;
  if (!self_mapping_of(site, &mapping) || !mapping.file || mapping.writable || !mapping.readable ||
      !mapping.executable || inside_end > mapping.end) {
    return PatchOutcome::NotFileCode;
  }
  CodeMapping* code = code_mapping(mapping);
  if (code == nullptr) return PatchOutcome::NotFileCode;
  *awaiting = code;
  // A branch inside the site.
  if (PatchOutcome inside = branches_into(*code, site + 1, inside_end);
      inside != PatchOutcome::Patched) {
    return inside;
  }
  // Another thread may have fetched the site's bytes already: only membarrier(SYNC_CORE) makes
  // it fetch them again.
  const bool other_threads = self_stat_field(20) != 1;  // (or unknown)
  if (other_threads && !can_sync_cores()) return PatchOutcome::OtherThreads;
  const uintptr_t cache_pc = block.cache_pc(site);
  if (length >= kEntryJumpBytes) return plan_whole_jump(slot, site, cache_pc, plan);
  PatchOutcome outcome = plan_jump_over_site(slot, site, length, mapping, cache_pc, plan);
  if (outcome != PatchOutcome::NoWindow) return outcome;
  // Another thread may be stopped between two instructions under a jump that covers several.
  if (other_threads) return PatchOutcome::NoWindow;
  outcome = check_covered(site, block, *code);
  if (outcome != PatchOutcome::Patched) return outcome;
  return plan_whole_jump(slot, site, cache_pc, plan);
}

PatchOutcome patch(PatchSlot& slot, uintptr_t site, const BlockTranslation& block) {
  PatchPlan plan;
  CodeMapping* code = nullptr;
  PatchOutcome outcome = plan_patch(slot, site, block, &plan, &code);
  if (outcome == PatchOutcome::AwaitingSweep && slot.state.load() == kCounting) {
    slot.mapping = static_cast<uint8_t>(code - g_mappings);
    code->awaiting_traps.fetch_add(1, std::memory_order_relaxed);  // this trap
    slot.state.store(kAwaitingSweep, std::memory_order_release);
  }
  if (outcome != PatchOutcome::Patched) return outcome;
  slot.stub = plan.stub;
  if (!make_writable(site, plan.written, true)) return PatchOutcome::ProtectFailed;
  slot.written = plan.written;
  slot.reach = plan.reach;
  std::memcpy(slot.original, reinterpret_cast<const void*>(site), plan.written);
  std::memcpy(slot.jump, plan.jump, plan.written);
  slot.state.store(kPatching, std::memory_order_release);
  write_site(site, slot.jump, slot.written);
  make_writable(site, slot.written, false);
  slot.state.store(kPatched, std::memory_order_release);
  g_patched.fetch_add(1);
  return PatchOutcome::Patched;
}

bool jump_in_place(const PatchSlot& slot, uintptr_t site) {
  return std::memcmp(reinterpret_cast<const void*>(site), slot.jump, slot.written) == 0;
}

}  // namespace

const char* patch_outcome_name(PatchOutcome outcome) {
  switch (outcome) {
    case PatchOutcome::Patched:
      return "patched";
    case PatchOutcome::AlreadyPatched:
      return "already patched";
    case PatchOutcome::Disabled:
      return "patching is off";
    case PatchOutcome::NotHotYet:
      return "not hot yet";
    case PatchOutcome::AwaitingSweep:
      return "waiting for the traps that pay for its mapping's sweep";
    case PatchOutcome::Busy:
      return "another patch is under way";
    case PatchOutcome::Refused:
      return "refused before";
    case PatchOutcome::TableFull:
      return "too many sites";
    case PatchOutcome::NotStraightLine:
      return "the jump would cover untranslated bytes";
    case PatchOutcome::BranchTarget:
      return "a branch targets the bytes under the jump";
    case PatchOutcome::NotFileCode:
      return "the code is not in a read-only file mapping";
    case PatchOutcome::OtherThreads:
      return "the process has other threads, and membarrier(SYNC_CORE) is not available";
    case PatchOutcome::NoMemory:
      return "no code-cache memory within reach";
    case PatchOutcome::Overlap:
      return "the jump would overlap another patch's";
    case PatchOutcome::NoWindow:
      return "no free memory where a jump over the site alone can lead, and other threads";
    case PatchOutcome::ProtectFailed:
      return "the code cannot be made writable";
  }
  return "?";
}

void set_entry_patching(bool enabled) {
  g_enabled.store(enabled);
}
bool entry_patching_enabled() {
  return g_enabled.load(std::memory_order_relaxed);
}

PatchOutcome note_diverted_entry(uintptr_t site, const BlockTranslation& block) {
  if (!entry_patching_enabled()) return PatchOutcome::Disabled;
  PatchSlot* slot = slot_of(site, /*claim=*/true);
  if (slot == nullptr) return PatchOutcome::TableFull;
  switch (slot->state.load(std::memory_order_acquire)) {
    case kCounting:
      if (slot->traps.fetch_add(1) + 1 < kHotEntryTraps) return PatchOutcome::NotHotYet;
      break;
    case kAwaitingSweep: {
      // No system call until the sweep is paid for: the count is in the table of mappings.
      CodeMapping& code = g_mappings[slot->mapping];
      code.awaiting_traps.fetch_add(1, std::memory_order_relaxed);
      if (!sweep_paid_for(code)) return PatchOutcome::AwaitingSweep;
      break;
    }
    case kRefused:
      return PatchOutcome::Refused;
    default:
      return PatchOutcome::AlreadyPatched;
  }
  if (g_busy.exchange(true, std::memory_order_acquire)) return PatchOutcome::Busy;
  PatchOutcome outcome = PatchOutcome::AlreadyPatched;
  uint8_t state = slot->state.load();
  if (state == kCounting || state == kAwaitingSweep) {
    outcome = patch(*slot, site, block);
    if (outcome != PatchOutcome::Patched && outcome != PatchOutcome::AwaitingSweep) {
      // A process that has other threads now may have one later: count again from zero.
      if (outcome == PatchOutcome::OtherThreads) {
        slot->traps.store(0);
        slot->state.store(kCounting);
      } else {
        slot->state.store(kRefused);
      }
    }
  }
  g_busy.store(false, std::memory_order_release);
  return outcome;
}

uintptr_t entry_patch_trap(uintptr_t rip) {
  uintptr_t site = rip - 1;
  PatchSlot* slot = slot_of(site, /*claim=*/false);
  if (slot == nullptr) return 0;
  uint8_t state = slot->state.load(std::memory_order_acquire);
  bool int3_there = *reinterpret_cast<const volatile uint8_t*>(site) == kInt3;
  if (state == kPatching || state == kPatched) return reinterpret_cast<uintptr_t>(slot->stub);
  if (state == kRemoving) return site;  // run it again once the original bytes are back
  return int3_there ? 0 : site;         // taken out meanwhile: the original instruction is back
}

size_t remove_entry_patches() {
  if (g_patched.load() == 0) return 0;
  // No handler of this thread may run meanwhile: one that ran a site being taken out would meet
  // its int3 and be sent back to it until the removal, which it interrupts, is over. (Other
  // threads just wait there.) The synchronous fault signals stay deliverable.
  sigset_t everything;
  std::memset(&everything, 0xff, sizeof(everything));
  for (int synchronous : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP}) {
    sys::sigset_remove(everything, synchronous);
  }
  sigset_t saved;
  sys::rt_sigprocmask(SIG_BLOCK, &everything, &saved);
  while (g_busy.exchange(true, std::memory_order_acquire))
    sys::sched_yield();
  size_t removed = 0;
  for (PatchSlot& slot : g_slots) {
    uintptr_t site = slot.site.load(std::memory_order_acquire);
    if (site == 0 || slot.state.load() != kPatched) continue;
    if (jump_in_place(slot, site) && make_writable(site, slot.written, true)) {
      slot.state.store(kRemoving, std::memory_order_release);
      write_site(site, slot.original, slot.written);
      make_writable(site, slot.written, false);
      ++removed;
    }
    // (Without its jump the site's code was unmapped or replaced: nothing to put back.)
    slot.traps.store(0);
    slot.state.store(kCounting, std::memory_order_release);
    g_patched.fetch_sub(1);
  }
  g_busy.store(false, std::memory_order_release);
  sys::rt_sigprocmask(SIG_SETMASK, &saved, nullptr);
  return removed;
}

namespace {

// Whether what `bytes` show of `slot`'s site (code read from [address, address + size)) is its
// patch, in place or being written or taken out: each byte there the original's, the jump's or,
// on the first, the int3. When it is, puts the original back. The caller read the bytes first
// (a patch's state is set before its first byte is written, and its bytes after; x86-64 keeps a
// thread's loads in order, so only the compiler must not move the state's load before theirs).
void restore_if_patch(const PatchSlot& slot, uintptr_t site, uint8_t* bytes, uintptr_t address,
                      size_t size) {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  uint8_t state = slot.state.load(std::memory_order_acquire);
  if (state != kPatching && state != kPatched && state != kRemoving) return;
  if (site + slot.written <= address || site >= address + size) return;
  for (size_t i = 0; i < slot.written; ++i) {
    uintptr_t at = site + i;
    if (at < address || at >= address + size) continue;
    uint8_t seen = bytes[at - address];
    if (seen != slot.original[i] && seen != slot.jump[i] && !(i == 0 && seen == kInt3)) return;
  }
  for (size_t i = 0; i < slot.written; ++i) {
    uintptr_t at = site + i;
    if (at >= address && at < address + size) bytes[at - address] = slot.original[i];
  }
}

}  // namespace

void show_original_code(uint8_t* bytes, uintptr_t address, size_t size) {
  if (g_patched.load(std::memory_order_relaxed) == 0 && !g_busy.load(std::memory_order_relaxed)) {
    return;
  }
  for (const PatchSlot& slot : g_slots) {
    uintptr_t site = slot.site.load(std::memory_order_acquire);
    if (site != 0) restore_if_patch(slot, site, bytes, address, size);
  }
}

void show_original_instruction(uint8_t* bytes, uintptr_t pc, size_t size) {
  // What a patch leaves first on its site: the int3, the jump, or the jump's ignored prefix.
  if (size == 0 || (bytes[0] != kInt3 && bytes[0] != kJumpRel32 && bytes[0] != kIgnoredPrefix)) {
    return;
  }
  if (const PatchSlot* slot = slot_of(pc, /*claim=*/false)) {
    restore_if_patch(*slot, pc, bytes, pc, size);
  }
}

size_t entry_patch_count() {
  return g_patched.load();
}

void forget_branch_targets() {
  while (g_busy.exchange(true, std::memory_order_acquire))
    sys::sched_yield();
  for (PatchSlot& slot : g_slots) {
    if (slot.state.load() != kAwaitingSweep) continue;
    slot.traps.store(0);
    slot.state.store(kCounting, std::memory_order_release);
  }
  size_t count = g_mapping_count.load();
  for (size_t i = 0; i < count; ++i) {
    CodeMapping& mapping = g_mappings[i];
    size_t bitmap_bytes = ((mapping.end - mapping.start) / 8 + kPage - 1) & ~(kPage - 1);
    sys::munmap(reinterpret_cast<uintptr_t>(mapping.candidates), bitmap_bytes);
    if (mapping.targets != nullptr)
      sys::munmap(reinterpret_cast<uintptr_t>(mapping.targets), bitmap_bytes);
    mapping.targets = nullptr;
  }
  g_mapping_count.store(0, std::memory_order_release);
  g_busy.store(false, std::memory_order_release);
}

bool jump_window(uintptr_t site, const uint8_t* code, size_t site_length, size_t prefixes,
                 JumpWindow* out) {
  if (site_length == 0 || site_length >= kEntryJumpBytes || prefixes >= site_length) return false;
  const size_t reach = kEntryJumpBytes + prefixes;
  const size_t chosen = site_length - 1 - prefixes;  // the displacement's low bytes, on the site
  uint32_t fixed = 0;
  for (size_t k = chosen; k < 4; ++k)
    fixed |= uint32_t{code[prefixes + 1 + k]} << (8 * k);
  // The fixed bytes include the sign: the targets are one contiguous range.
  const int64_t low = static_cast<int64_t>(site + reach) + static_cast<int32_t>(fixed);
  const int64_t high = low + (int64_t{1} << (8 * chosen)) - 1;
  if (high < 0 || low >= static_cast<int64_t>(kUserSpaceEnd)) return false;
  out->low = low < 0 ? 0 : static_cast<uintptr_t>(low);
  out->high = static_cast<uintptr_t>(high);
  out->reach = reach;
  return true;
}

}  // namespace mmiotrace::codecache
