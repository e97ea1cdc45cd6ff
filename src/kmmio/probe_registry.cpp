// The probe registry (the seed's register/unregister_kmmio_probe): validates probes, counts the
// probes on each page, arms and disarms pages, and publishes a new ProbeTable for the handlers
// on every change. Normal context only; writers are serialized by one mutex that handlers never
// take.
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <mutex>

#include "core/proc_maps.hpp"
#include "core/syscall.hpp"
#include "kmmio/engine.hpp"
#include "kmmio/probe_table.hpp"
#include "kmmio/thread_context.hpp"

namespace mmiotrace::kmmio {
namespace {

class ProbeRegistry {
 public:
  int add(mmiotrace_probe* probe, std::optional<int> protection);
  int remove(mmiotrace_probe* probe, Disarm disarm);
  size_t count() {
    std::lock_guard lock(mutex_);
    return probes_.size();
  }

 private:
  // Publishes a table of the current probes and pages; `retiring` pages are listed too, so that
  // faults on them are still recognised as ours while they are disarmed.
  void publish(const std::vector<FaultPage*>& retiring = {});
  static int set_protection(const std::vector<FaultPage*>& pages, bool armed);
  // Disarms and forgets the pages of `pages` that no probe covers any more.
  void retire_unused_pages(AddressRange pages, Disarm disarm);

  std::mutex mutex_;
  std::vector<ProbeEntry> probes_;               // sorted by range.begin
  std::map<uintptr_t, std::unique_ptr<FaultPage>> pages_;
};

void ProbeRegistry::publish(const std::vector<FaultPage*>& retiring) {
  auto table = std::make_unique<ProbeTable>();
  table->probes = probes_;
  table->pages.reserve(pages_.size() + retiring.size());
  for (auto& [address, page] : pages_) table->pages.push_back(page.get());
  table->pages.insert(table->pages.end(), retiring.begin(), retiring.end());
  std::sort(table->pages.begin(), table->pages.end(),
            [](const FaultPage* a, const FaultPage* b) { return a->page < b->page; });
  const ProbeTable* old = published_table().exchange(table.release());
  table_gate().synchronize();
  delete old;
}

// Applies PROT_NONE (armed) or each page's own protection, one mprotect() per run of
// neighbouring pages with the same protection. Returns the first failure as -errno.
int ProbeRegistry::set_protection(const std::vector<FaultPage*>& pages, bool armed) {
  int result = 0;
  size_t run_start = 0;
  for (size_t i = 1; i <= pages.size(); ++i) {
    bool run_continues = i < pages.size() && pages[i]->page == pages[i - 1]->page + kPageSize &&
                         (armed || pages[i]->protection == pages[run_start]->protection);
    if (run_continues) continue;
    uintptr_t begin = pages[run_start]->page;
    size_t length = pages[i - 1]->page + kPageSize - begin;
    long status = sys::mprotect(begin, length, armed ? PROT_NONE : pages[run_start]->protection);
    if (status < 0 && result == 0) result = static_cast<int>(status);
    run_start = i;
  }
  return result;
}

int ProbeRegistry::add(mmiotrace_probe* probe, std::optional<int> protection) {
  if (probe == nullptr || probe->len == 0 || probe->addr + probe->len < probe->addr) {
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
  std::vector<FaultPage*> new_pages;
  std::vector<FaultPage*> covered;
  for (uintptr_t address = pages.begin; address < pages.end; address += kPageSize) {
    auto& slot = pages_[address];
    if (!slot) {
      slot = std::make_unique<FaultPage>();
      slot->page = address;
      slot->protection =
          protection ? *protection : (*protections)[(address - pages.begin) / kPageSize];
      new_pages.push_back(slot.get());
    }
    ++slot->probe_count;
    covered.push_back(slot.get());
  }
  probes_.insert(position, ProbeEntry{range, probe});

  // Publish before arming: a fault on a newly armed page must find it in the table.
  publish();
  int armed = set_protection(new_pages, /*armed=*/true);
  if (armed == 0) return 0;

  // Part of the range could not be armed (it is not mapped): undo everything.
  probes_.erase(std::find_if(probes_.begin(), probes_.end(),
                             [probe](const ProbeEntry& entry) { return entry.probe == probe; }));
  for (FaultPage* page : covered) --page->probe_count;
  retire_unused_pages(pages, Disarm::RestoreProtection);
  return armed;
}

int ProbeRegistry::remove(mmiotrace_probe* probe, Disarm disarm) {
  if (this_thread_context().handler_depth > 0) return -EDEADLK;
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

  retire_unused_pages(pages, disarm);
  return 0;
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

// Never destroyed: handlers on other threads may still look at its pages during exit.
ProbeRegistry& registry() {
  static ProbeRegistry* instance = new ProbeRegistry;
  return *instance;
}

}  // namespace

int register_probe(mmiotrace_probe* probe, std::optional<int> protection) {
  return registry().add(probe, protection);
}

int unregister_probe(mmiotrace_probe* probe, Disarm disarm) {
  return registry().remove(probe, disarm);
}

size_t probe_count() { return registry().count(); }

}  // namespace mmiotrace::kmmio
