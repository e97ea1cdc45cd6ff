/* A program that uses a virtual device's path as a driver would: stat, access, open (by each
 * of the functions libc offers), fopen, and a mapping whose registers it reads and writes. Run
 * by tests/e2e/device_test.cpp under `mmiotrace record --device regfile...@PATH`, and replayed;
 * `device_file PATH modified` is the same driver with one register value changed, which a
 * replay of the original must catch. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc != 2 && !(argc == 3 && strcmp(argv[2], "modified") == 0)) return 2;
  const char* path = argv[1];
  uint32_t control = argc == 3 ? 0xcafe0002 : 0xcafe0001;
  struct stat status;
  if (stat(path, &status) != 0) {
    printf("stat: %s\n", strerror(errno));
    return 3;
  }
  printf("character device: %s\n", S_ISCHR(status.st_mode) ? "yes" : "no");
  printf("access rw: %d\n", access(path, R_OK | W_OK));
  int fd = open(path, O_RDWR | O_SYNC);
  int fd64 = open64(path, O_RDONLY);
  int fd_at = openat(AT_FDCWD, path, O_RDWR);
  FILE* file = fopen(path, "r+");
  printf("opened: %s\n", fd >= 0 && fd64 >= 0 && fd_at >= 0 && file != NULL ? "yes" : "no");
  struct stat by_fd;
  printf("fstat is the same device: %s\n",
         fstat(fd, &by_fd) == 0 && by_fd.st_rdev == status.st_rdev ? "yes" : "no");
  printf("O_CREAT|O_EXCL: %s\n",
         open(path, O_RDWR | O_CREAT | O_EXCL, 0600) < 0 && errno == EEXIST ? "EEXIST" : "opened");

  volatile uint8_t* regs = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (regs == MAP_FAILED) {
    printf("mmap: %s\n", strerror(errno));
    return 4;
  }
  store32(regs + 0x10, control);
  store64(regs + 0x1000, 0x1122334455667788ull);
  store8(regs + 0x1fff, 0x5a);
  printf("read back: %08x %016llx %02x\n", load32(regs + 0x10),
         (unsigned long long)load64(regs + 0x1000), load8(regs + 0x1fff));
  /* A second mapping of the same device, at an offset: the same registers. */
  volatile uint8_t* second = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd_at, 4096);
  printf("second mapping: %016llx\n", (unsigned long long)load64(second));
  /* Past the device's end. */
  void* beyond = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd64, 0x10000);
  printf("mapping past the end: %s\n", beyond == MAP_FAILED ? strerror(errno) : "mapped");
  /* A system call given device memory: the device answers through the kernel's copy. */
  int pipe_ends[2];
  if (pipe(pipe_ends) != 0) return 5;
  printf("write from the device: %zd\n", write(pipe_ends[1], (void*)(regs + 0x10), 4));
  uint32_t copied = 0;
  if (read(pipe_ends[0], &copied, 4) != 4) return 6;
  printf("copied: %08x\n", copied);
  munmap((void*)second, 4096);
  munmap((void*)regs, 8192);
  fclose(file);
  close(fd);
  close(fd64);
  close(fd_at);
  puts("EXIT-SUCCESS");
  return 0;
}
