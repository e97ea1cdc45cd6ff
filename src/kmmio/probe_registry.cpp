// The probe registry (the kernel's register/unregister_kmmio_probe): validates probes, counts the
// probes on each page, arms and disarms pages, and publishes a new ProbeTable for the handlers
// on every change. Normal context only; writers are serialized by one mutex that handlers never
// take. (Declared in engine.hpp, the engine's one interface for the layers above.)
#include <sys/mman.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <mutex>

#include "arch/code_cache.hpp"
#include "arch/machine.hpp"
#include "backend/passthrough.hpp"
#include "core/diagnostics.hpp"
#include "core/proc_maps.hpp"
#include "core/syscall.hpp"
#include "kmmio/code_cache.hpp"
#include "kmmio/engine.hpp"
#include "kmmio/engine_settings.hpp"
#include "kmmio/probe_table.hpp"
#include "kmmio/thread_context.hpp"

namespace mmiotrace::kmmio {
namespace {

// What the registry keeps for one probe besides its table entry.
struct ProbeResources {
  std::unique_ptr<backend::Passthrough> passthrough;
  AddressRange owned_alias;  // an alias the registry mapped itself, to unmap with the probe
};

// Makes an alias of the shared memory under `pages`: mremap() with an old size of 0 maps the
// same pages again. Returns the alias of pages.begin, or 0 with `why` set.
uintptr_t make_alias(AddressRange pages, const char** why) {
  std::vector<MapsEntry> maps = read_own_maps();
  // The range must be one shared mapping (maybe split by arming), contiguous in its object.
  uintptr_t next = pages.begin;
  const MapsEntry* previous = nullptr;
  for (const MapsEntry& entry : maps) {
    if (entry.range.end <= next || next >= pages.end) continue;
    if (entry.range.begin > next) break;
    if (!entry.shared) {
      *why = "it is private memory, which has no second mapping";
      return 0;
    }
    if (previous && (entry.path != previous->path ||
                     entry.offset != previous->offset + previous->range.size())) {
      *why = "it spans more than one mapping";
      return 0;
    }
    previous = &entry;
    next = entry.range.end;
  }
  if (next < pages.end) {
    *why = "it is not mapped";
    return 0;
  }
  long alias = sys::syscall6(SYS_mremap, static_cast<long>(pages.begin), 0,
                             static_cast<long>(pages.size()), MREMAP_MAYMOVE);
  if (alias < 0 && alias > -4096) {
    *why = "the kernel would not map it again (mremap)";
    return 0;
  }
  // The tracer's, not the program's: out of core dumps.
  sys::syscall6(SYS_madvise, alias, static_cast<long>(pages.size()), MADV_DONTDUMP);
  // The alias starts with the protection of the first page, which may be armed already.
  if (sys::mprotect(static_cast<uintptr_t>(alias), pages.size(), PROT_READ | PROT_WRITE) < 0 &&
      sys::mprotect(static_cast<uintptr_t>(alias), pages.size(), PROT_READ) < 0) {
    sys::munmap(static_cast<uintptr_t>(alias), pages.size());
    *why = "its second mapping cannot be made accessible";
    return 0;
  }
  return static_cast<uintptr_t>(alias);
}

void notify_no_alias(AddressRange range, const char* why) {
  FixedText<256> line;
  line.text("mmiotrace: cannot alias ").hex0x(range.begin).text("-").hex0x(range.end);
  line.text(" (").text(why).text(")");
  if (arch::kHasSingleStep) {
    line.text("; its accesses are single-stepped, and other threads' accesses to its pages ");
    line.text("during a step are not seen\n");
  } else {
    line.text("; it is not traced: this architecture has no single-stepping to trace it by\n");
  }
  notify(line.view().data(), line.view().size());
}

class ProbeRegistry {
 public:
  // `backend`: the caller's, for all of the probe's accesses; null: an alias of the memory.
  int add(mmiotrace_probe* probe, std::optional<int> protection, backend::Backend* backend);
  int remove(mmiotrace_probe* probe, Disarm disarm);
  size_t count() {
    std::lock_guard lock(mutex_);
    return probes_.size();
  }
  int set_protection(AddressRange pages, int protection, std::vector<AddressRange>* unarmed);
  std::vector<PageAlias> armed_pages(AddressRange pages);

 private:
  // Publishes a table of the current probes and pages; `retiring` pages are listed too, so that
  // faults on them are still recognised as ours while they are disarmed.
  void publish(const std::vector<FaultPage*>& retiring = {});
  static int set_protection(const std::vector<FaultPage*>& pages, bool armed);
  // Disarms and forgets the pages of `pages` that no probe covers any more.
  void retire_unused_pages(AddressRange pages, Disarm disarm);
  void reassign_page_aliases(AddressRange pages);
  // Frees the backend and alias of an unregistered probe. Only after a grace period.
  void release_resources(mmiotrace_probe* probe);

  // Sets the alias of each page of `pages` that a probe with an alias covers.
  void set_page_aliases(const ProbeEntry& entry, const std::vector<FaultPage*>& pages);

  std::mutex mutex_;
  std::vector<ProbeEntry> probes_;  // sorted by range.begin
  std::map<uintptr_t, std::unique_ptr<FaultPage>> pages_;
  std::map<mmiotrace_probe*, ProbeResources> resources_;
};

void ProbeRegistry::set_page_aliases(const ProbeEntry& entry,
                                     const std::vector<FaultPage*>& pages) {
  if (entry.backend == nullptr) return;
  uintptr_t alias = entry.backend->direct_address(0);
  if (alias == 0) return;  // a backend without memory of its own (a device model)
  for (FaultPage* page : pages) {
    if (page->alias.load() == 0) page->alias.store(alias + (page->page - entry.range.begin));
  }
}

void ProbeRegistry::publish(const std::vector<FaultPage*>& retiring) {
  auto table = std::make_unique<ProbeTable>();
  table->probes = probes_;
  table->pages.reserve(pages_.size() + retiring.size());
  for (auto& [address, page] : pages_)
    table->pages.push_back(page.get());
  table->pages.insert(table->pages.end(), retiring.begin(), retiring.end());
  std::sort(table->pages.begin(), table->pages.end(),
            [](const FaultPage* a, const FaultPage* b) { return a->page < b->page; });
  const ProbeTable* old = published_table().exchange(table.release());
  // Translated code checks the regions' generation: what it cached of the old table is stale
  // from now on (codecache/region_cache.hpp).
  uintptr_t filter_low = ~uintptr_t{0};
  uintptr_t filter_high = 0;
  for (const ProbeEntry& entry : probes_) {
    if (entry.backend == nullptr || entry.backend->direct_address(0) == 0) continue;
    filter_low = std::min(filter_low, entry.range.begin);
    filter_high = std::max(filter_high, entry.range.end);
  }
  if (filter_high == 0) filter_low = 0;
  arch::publish_regions(filter_low, filter_high);
  table_gate().synchronize();
  delete old;
}

// Applies PROT_NONE (armed) or each page's own protection, one mprotect() per run of
// neighbouring pages with the same protection. Returns the first failure as -errno.
int ProbeRegistry::set_protection(const std::vector<FaultPage*>& pages, bool armed) {
  int result = 0;
  size_t run_start = 0;
  for (size_t i = 1; i <= pages.size(); ++i) {
    bool run_continues =
        i < pages.size() && pages[i]->page == pages[i - 1]->page + kPageSize &&
        (armed || pages[i]->protection.load() == pages[run_start]->protection.load());
    if (run_continues) continue;
    uintptr_t begin = pages[run_start]->page;
    size_t length = pages[i - 1]->page + kPageSize - begin;
    long status =
        sys::mprotect(begin, length, armed ? PROT_NONE : pages[run_start]->protection.load());
    if (status < 0 && result == 0) result = static_cast<int>(status);
    run_start = i;
  }
  return result;
}

int ProbeRegistry::add(mmiotrace_probe* probe, std::optional<int> protection,
                       backend::Backend* backend) {
  if (probe == nullptr || probe->len == 0 || probe->addr + probe->len < probe->addr) {
    return -EINVAL;
  }
  if (probe->alias != 0 && probe->alias != MMIOTRACE_NO_ALIAS &&
      page_floor(probe->alias - probe->addr) != probe->alias - probe->addr) {
    return -EINVAL;
  }
  if (this_thread_context().handler_depth > 0) return -EDEADLK;
  install_fault_handlers();
  AddressRange range = AddressRange::from_size(probe->addr, probe->len);

  std::lock_guard lock(mutex_);
  auto position = std::lower_bound(
      probes_.begin(), probes_.end(), range.begin,
      [](const ProbeEntry& entry, uintptr_t begin) { return entry.range.begin < begin; });
  if ((position != probes_.end() && position->range.overlaps(range)) ||
      (position != probes_.begin() && std::prev(position)->range.overlaps(range))) {
    return -EEXIST;
  }

  AddressRange pages = range.pages();
  std::optional<std::vector<int>> protections;
  if (!protection) {
    protections = page_protections(pages);
    if (!protections) return -ENOMEM;
  }
  // The backend: the caller's, or the caller's alias, or one made here, or none (single-step;
  // without single-stepping, the probe is refused).
  ProbeResources resources;
  uintptr_t alias = probe->alias == MMIOTRACE_NO_ALIAS || backend != nullptr ? 0 : probe->alias;
  if (probe->alias == 0 && backend == nullptr) {
    const char* why = nullptr;
    uintptr_t pages_alias = make_alias(pages, &why);
    if (pages_alias != 0) {
      resources.owned_alias = AddressRange::from_size(pages_alias, pages.size());
      alias = pages_alias + (range.begin - pages.begin);
    } else {
      notify_no_alias(range, why);
      if (!arch::kHasSingleStep) return -EOPNOTSUPP;
    }
  } else if (alias == 0 && backend == nullptr && !arch::kHasSingleStep) {
    notify_no_alias(range, "the caller asked for none");
    return -EOPNOTSUPP;
  }
  std::vector<FaultPage*> new_pages;
  std::vector<FaultPage*> covered;
  for (uintptr_t address = pages.begin; address < pages.end; address += kPageSize) {
    auto& slot = pages_[address];
    if (!slot) {
      slot = std::make_unique<FaultPage>();
      slot->page = address;
      slot->protection.store(protection ? *protection
                                        : (*protections)[(address - pages.begin) / kPageSize]);
      new_pages.push_back(slot.get());
    }
    ++slot->probe_count;
    covered.push_back(slot.get());
  }
  if (alias != 0) resources.passthrough = std::make_unique<backend::Passthrough>(alias);
  ProbeEntry entry{range, probe, backend ? backend : resources.passthrough.get()};
  set_page_aliases(entry, covered);
  if (backend != nullptr) {
    for (FaultPage* page : covered)
      page->modeled.store(true);
  }
  resources_[probe] = std::move(resources);
  probes_.insert(position, entry);

  // Publish before arming: a fault on a newly armed page must find it in the table.
  publish();
  int armed = set_protection(new_pages, /*armed=*/true);
  if (armed == 0) return 0;

  // Part of the range could not be armed (it is not mapped): undo everything.
  probes_.erase(std::find_if(probes_.begin(), probes_.end(),
                             [probe](const ProbeEntry& e) { return e.probe == probe; }));
  for (FaultPage* page : covered)
    --page->probe_count;
  reassign_page_aliases(pages);
  retire_unused_pages(pages, Disarm::RestoreProtection);
  release_resources(probe);
  return armed;
}

int ProbeRegistry::remove(mmiotrace_probe* probe, Disarm disarm) {
  if (this_thread_context().handler_depth > 0) return -EDEADLK;
  // This thread's logged accesses still need their probe (translated code of other threads
  // that is still running on the region is the program's race: see docs/code-cache.md).
  flush_logged_accesses();
  std::lock_guard lock(mutex_);
  auto position = std::find_if(probes_.begin(), probes_.end(),
                               [probe](const ProbeEntry& entry) { return entry.probe == probe; });
  if (position == probes_.end()) return -ENOENT;
  AddressRange pages = position->range.pages();
  probes_.erase(position);
  for (uintptr_t address = pages.begin; address < pages.end; address += kPageSize) {
    auto found = pages_.find(address);
    if (found != pages_.end()) --found->second->probe_count;
  }
  reassign_page_aliases(pages);
  retire_unused_pages(pages, disarm);
  release_resources(probe);
  // Translations serve every region: jumps into them stay while any region is traced, and go
  // with the last one, so that a program that stops tracing runs its own code again.
  bool any_inline = false;
  for (const ProbeEntry& entry : probes_) {
    any_inline = any_inline || (entry.backend != nullptr && entry.backend->direct_address(0) != 0);
  }
  if (!any_inline) arch::remove_entry_patches();
  return 0;
}

// Pages that outlive a probe (shared with another) must not keep an alias inside the probe's,
// which is about to go: they take one of a remaining probe, or none.
void ProbeRegistry::reassign_page_aliases(AddressRange pages) {
  for (uintptr_t address = pages.begin; address < pages.end; address += kPageSize) {
    auto found = pages_.find(address);
    if (found == pages_.end() || found->second->probe_count == 0) continue;
    FaultPage& page = *found->second;
    page.alias.store(0);
    for (const ProbeEntry& entry : probes_) {
      if (entry.backend != nullptr && entry.backend->direct_address(0) != 0 &&
          entry.range.pages().contains(address)) {
        page.alias.store(entry.backend->direct_address(0) + (address - entry.range.begin));
        break;
      }
    }
  }
}

// After the grace periods of retire_unused_pages(): no handler can still use them.
void ProbeRegistry::release_resources(mmiotrace_probe* probe) {
  auto found = resources_.find(probe);
  if (found == resources_.end()) return;
  if (!found->second.owned_alias.empty()) {
    sys::munmap(found->second.owned_alias.begin, found->second.owned_alias.size());
  }
  resources_.erase(found);
}

void ProbeRegistry::retire_unused_pages(AddressRange pages, Disarm disarm) {
  std::vector<std::unique_ptr<FaultPage>> retired;
  std::vector<FaultPage*> retiring;
  for (uintptr_t address = pages.begin; address < pages.end; address += kPageSize) {
    auto found = pages_.find(address);
    if (found == pages_.end() || found->second->probe_count > 0) continue;
    found->second->retiring.store(true);
    retiring.push_back(found->second.get());
    retired.push_back(std::move(found->second));
    pages_.erase(found);
  }
  // 1. Handlers stop using the removed probe; faults on retiring pages are retried. After the
  //    grace period no thread single-steps with a retiring page open, and none will re-arm it.
  publish(retiring);
  // 2. Give the pages back their protection (or leave them to munmap).
  if (disarm == Disarm::RestoreProtection) set_protection(retiring, /*armed=*/false);
  // 3. Forget the pages; `retired` frees them once no handler can see them.
  publish();
}

int ProbeRegistry::set_protection(AddressRange pages, int protection,
                                  std::vector<AddressRange>* unarmed) {
  std::lock_guard lock(mutex_);
  for (uintptr_t address = pages.begin; address < pages.end; address += kPageSize) {
    auto found = pages_.find(address);
    if (found != pages_.end()) {
      found->second->protection.store(protection);  // stays armed; accesses are checked
    } else if (!unarmed->empty() && unarmed->back().end == address) {
      unarmed->back().end += kPageSize;
    } else {
      unarmed->push_back({address, address + kPageSize});
    }
  }
  return 0;
}

std::vector<PageAlias> ProbeRegistry::armed_pages(AddressRange pages) {
  std::lock_guard lock(mutex_);
  std::vector<PageAlias> armed;
  for (auto it = pages_.lower_bound(pages.begin); it != pages_.end() && it->first < pages.end;
       ++it) {
    armed.push_back({it->first, it->second->alias.load()});
  }
  return armed;
}

// Never destroyed: handlers on other threads may still look at its pages during exit.
ProbeRegistry& registry() {
  static ProbeRegistry* instance = new ProbeRegistry;
  return *instance;
}

}  // namespace

int register_probe(mmiotrace_probe* probe, std::optional<int> protection) {
  return registry().add(probe, protection, nullptr);
}

int register_probe_with_backend(mmiotrace_probe* probe, backend::Backend* backend,
                                std::optional<int> protection) {
  if (backend == nullptr) return -EINVAL;
  return registry().add(probe, protection, backend);
}

int unregister_probe(mmiotrace_probe* probe, Disarm disarm) {
  return registry().remove(probe, disarm);
}

size_t probe_count() {
  return registry().count();
}

int set_page_protection(AddressRange pages, int protection, std::vector<AddressRange>* unarmed) {
  return registry().set_protection(pages, protection, unarmed);
}

std::vector<PageAlias> armed_pages(AddressRange pages) {
  return registry().armed_pages(pages);
}

bool touches_armed_page(AddressRange range) {
  if (range.empty()) return false;
  EpochGate& gate = table_gate();
  EpochGate::Ticket ticket = gate.enter();
  const ProbeTable* table = published_table().load();
  bool armed = false;
  for (uintptr_t page = page_floor(range.begin); table && page < range.end && !armed;
       page += kPageSize) {
    armed = table->find_page(page) != nullptr;
  }
  gate.exit(ticket);
  return armed;
}

}  // namespace mmiotrace::kmmio
