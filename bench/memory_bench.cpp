// The tracer's resident memory: per traced region, and per thread that makes traced accesses,
// measured in one process that records itself into a binary trace (the library's in-process
// writer). Each figure is a difference of resident sizes in the same run: N regions (threads)
// traced against N regions (threads) that are not. Run: build/bin/memory_bench [REGIONS THREADS]
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mmiotrace/mmiotrace.h"

namespace {

// Resident bytes of this process (all of it: the program's, the tracer's, shared memory).
long resident_bytes() {
  FILE* statm = fopen("/proc/self/statm", "r");
  long size = 0;
  long resident = 0;
  if (statm == nullptr || fscanf(statm, "%ld %ld", &size, &resident) != 2) resident = 0;
  if (statm) fclose(statm);
  return resident * sysconf(_SC_PAGESIZE);
}

// A register window: one page of a file, mapped shared, touched once.
volatile uint32_t* map_window() {
  int fd = memfd_create("memory-bench-region", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 4096) != 0) return nullptr;
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (page == MAP_FAILED) return nullptr;
  auto* window = static_cast<volatile uint32_t*>(page);
  window[0] = 1;
  return window;
}

struct ThreadRun {
  volatile uint32_t* window;
  pthread_barrier_t* accessed;
  pthread_barrier_t* done;
};

void* access_and_wait(void* argument) {
  auto* run = static_cast<ThreadRun*>(argument);
  run->window[1] = run->window[0] + 1;  // one access (traced or not)
  pthread_barrier_wait(run->accessed);
  pthread_barrier_wait(run->done);
  return nullptr;
}

// Resident growth of `threads` threads that each make one access to `window`, while they live.
long thread_growth(int threads, volatile uint32_t* window) {
  pthread_barrier_t accessed;
  pthread_barrier_t done;
  pthread_barrier_init(&accessed, nullptr, static_cast<unsigned>(threads) + 1);
  pthread_barrier_init(&done, nullptr, static_cast<unsigned>(threads) + 1);
  std::vector<pthread_t> ids(static_cast<size_t>(threads));
  ThreadRun run = {window, &accessed, &done};
  long before = resident_bytes();
  for (pthread_t& id : ids)
    pthread_create(&id, nullptr, &access_and_wait, &run);
  pthread_barrier_wait(&accessed);
  long after = resident_bytes();
  pthread_barrier_wait(&done);
  for (pthread_t id : ids)
    pthread_join(id, nullptr);
  pthread_barrier_destroy(&accessed);
  pthread_barrier_destroy(&done);
  return after - before;
}

}  // namespace

int main(int argc, char** argv) {
  int regions = argc > 1 ? atoi(argv[1]) : 256;
  int threads = argc > 2 ? atoi(argv[2]) : 32;
  if (regions <= 0 || threads <= 0) {
    fprintf(stderr, "usage: memory_bench [REGIONS THREADS]\n");
    return 2;
  }
  char trace[] = "/tmp/mmiotrace-memory-bench-XXXXXX";
  int trace_fd = mkstemp(trace);
  if (trace_fd < 0) return 1;
  close(trace_fd);
  if (mmiotrace_trace_start(trace, MMIOTRACE_FORMAT_BINARY) != 0) {
    fprintf(stderr, "memory_bench: cannot start recording\n");
    return 1;
  }

  // Regions: the same windows, untraced, then traced.
  long before_plain = resident_bytes();
  std::vector<volatile uint32_t*> plain;
  for (int i = 0; i < regions; ++i)
    plain.push_back(map_window());
  long plain_growth = resident_bytes() - before_plain;
  long before_traced = resident_bytes();
  std::vector<volatile uint32_t*> traced;
  std::vector<mmiotrace_mapping*> mappings;
  for (int i = 0; i < regions; ++i) {
    volatile uint32_t* window = map_window();
    traced.push_back(window);
    mappings.push_back(mmiotrace_trace_range(window, 4096, 0x100000 * static_cast<uint64_t>(i)));
    if (mappings.back() == nullptr) {
      fprintf(stderr, "memory_bench: cannot trace region %d\n", i);
      return 1;
    }
    (void)window[0];  // one traced access each
  }
  long traced_growth = resident_bytes() - before_traced;

  // Threads: one access each to an untraced window, then to a traced one.
  long plain_threads = thread_growth(threads, plain[0]);
  long traced_threads = thread_growth(threads, traced[0]);

  for (mmiotrace_mapping* mapping : mappings)
    mmiotrace_untrace_range(mapping);
  mmiotrace_trace_stop();
  unlink(trace);

  double per_region = static_cast<double>(traced_growth - plain_growth) / regions;
  double per_thread = static_cast<double>(traced_threads - plain_threads) / threads;
  printf("regions: %d untraced grew %ld KiB, %d traced grew %ld KiB\n", regions,
         plain_growth / 1024, regions, traced_growth / 1024);
  printf("threads: %d untraced grew %ld KiB, %d traced grew %ld KiB\n", threads,
         plain_threads / 1024, threads, traced_threads / 1024);
  printf("\ntracer's resident memory per traced region: %.1f KiB\n", per_region / 1024);
  printf("tracer's resident memory per tracing thread: %.1f KiB\n", per_thread / 1024);
  return 0;
}
