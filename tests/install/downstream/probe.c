/* A downstream C program of the probe and marker API: a probe on its own memory counts the
 * accesses its handler sees, then the program records itself (mmiotrace_trace_start) with a
 * marker into the trace file named by its argument. Exits 0 when every count is right. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <mmiotrace/mmiotrace.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static unsigned reads, writes;

/* Runs inside a signal handler: counts only. */
static void on_access(struct mmiotrace_probe* probe, const struct mmiotrace_access* access,
                      void* ucontext) {
  (void)probe;
  (void)ucontext;
  if (access->kind == MMIOTRACE_ACCESS_READ) ++reads;
  if (access->kind == MMIOTRACE_ACCESS_WRITE) ++writes;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: probe_c TRACE\n");
    return 2;
  }
  volatile uint32_t* regs =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (regs == MAP_FAILED) return 1;
  struct mmiotrace_probe probe = {(uintptr_t)regs, 4096, NULL, on_access, NULL, 0};
  int error = mmiotrace_register_probe(&probe);
  if (error != 0) {
    fprintf(stderr, "probe_c: cannot register the probe: %s\n", strerror(-error));
    return 1;
  }
  for (uint32_t i = 0; i < 4; ++i)
    regs[i] = i + 1;
  uint32_t sum = 0;
  for (uint32_t i = 0; i < 4; ++i)
    sum += regs[i];
  mmiotrace_unregister_probe(&probe);

  error = mmiotrace_trace_start(argv[1], MMIOTRACE_FORMAT_TEXT);
  if (error != 0) {
    fprintf(stderr, "probe_c: cannot record into %s: %s\n", argv[1], strerror(-error));
    return 1;
  }
  struct mmiotrace_mapping* mapping = mmiotrace_trace_range(regs, 4096, 0xfe000000);
  if (mapping == NULL) return 1;
  mmiotrace_mark("downstream C program");
  regs[1] = 0xc0ffee;
  mmiotrace_untrace_range(mapping);
  if (mmiotrace_trace_stop() != 0) return 1;

  printf("probe_c: sum %u, %u reads, %u writes\n", sum, reads, writes);
  return sum == 10 && reads == 4 && writes == 4 ? 0 : 1;
}
