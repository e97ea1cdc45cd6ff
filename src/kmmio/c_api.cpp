// The C API of mmiotrace.h for probes, strategy and statistics, over the engine. (Declared in the
// public include/mmiotrace/mmiotrace.h.)
#include <cerrno>

#include "arch/code_cache.hpp"
#include "kmmio/code_cache.hpp"
#include "kmmio/engine.hpp"
#include "kmmio/engine_settings.hpp"
#include "kmmio/engine_stats.hpp"
#include "mmiotrace/mmiotrace.h"

using namespace mmiotrace;

extern "C" {

int mmiotrace_register_probe(struct mmiotrace_probe* probe) {
  return kmmio::register_probe(probe);
}

int mmiotrace_unregister_probe(struct mmiotrace_probe* probe) {
  return kmmio::unregister_probe(probe);
}

int mmiotrace_set_strategy(enum mmiotrace_strategy strategy) {
  if (strategy != MMIOTRACE_STRATEGY_SINGLE_STEP && strategy != MMIOTRACE_STRATEGY_EMULATE) {
    return -EINVAL;
  }
  kmmio::set_strategy(strategy);
  return 0;
}

enum mmiotrace_strategy mmiotrace_get_strategy(void) {
  return kmmio::current_strategy();
}

void mmiotrace_set_divert(int enabled) {
  kmmio::set_divert(enabled != 0);
  if (enabled != 0) kmmio::relay_program_handlers();
}

void mmiotrace_set_patch(int enabled) {
  arch::set_entry_patching(enabled != 0);
}

void mmiotrace_set_notice_handler(mmiotrace_notice_handler handler, void* user_data) {
  kmmio::set_notice_handler(handler, user_data);
}

size_t mmiotrace_probe_count(void) {
  return kmmio::probe_count();
}

void mmiotrace_get_stats(struct mmiotrace_stats* stats) {
  kmmio::EngineStats& counters = kmmio::engine_stats();
  stats->faults_handled = counters.faults_handled.load();
  stats->faults_passed_on = counters.faults_passed_on.load();
  stats->recursive_faults = counters.recursive_faults.load();
  stats->emulated = counters.emulated.load();
  stats->single_stepped = counters.single_stepped.load();
  stats->diverted = counters.diverted.load();
  stats->diverted_accesses = counters.diverted_accesses.load();
  stats->entries_patched = counters.entries_patched.load();
}

}  // extern "C"
