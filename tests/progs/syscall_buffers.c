/* System calls given buffers in traced memory work as they do untraced, and their accesses are
 * traced as blocks: write, read, pwrite, pread, writev, readv, send, recv, ioctl and futex. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "prog_support.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 2 * 4096, 0);
  int pipe_ends[2];
  if (pipe(pipe_ends) != 0) return 3;

  /* The kernel reads traced memory: 16 bytes of registers into the pipe, and out again into
   * other registers. */
  printf("write %zd\n", write(pipe_ends[1], (void*)(regs + 0x10), 16));
  printf("read %zd\n", read(pipe_ends[0], (void*)(regs + 0x103), 16));
  printf("moved %08x %08x\n", load32(regs + 0x104), load32(regs + 0x10f));

  /* A file at an offset, across the page boundary. */
  char path[4096];
  snprintf(path, sizeof(path), "%s/plain.dat", argv[1]);
  int file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  printf("pwrite %zd\n", pwrite(file, (void*)(regs + 0xffc), 8, 100));
  printf("pread %zd\n", pread(file, (void*)(regs + 0x200), 4, 104));
  printf("copied %08x\n", load32(regs + 0x200));

  /* Vectors mixing traced and untraced buffers. */
  char local[4] = "abc";
  struct iovec out[2] = {{(void*)(regs + 0x20), 2}, {local, 3}};
  printf("writev %zd\n", writev(pipe_ends[1], out, 2));
  struct iovec in[2] = {{local, 1}, {(void*)(regs + 0x300), 4}};
  printf("readv %zd %c\n", readv(pipe_ends[0], in, 2), local[0]);
  printf("vector %08x\n", load32(regs + 0x300));

  /* Sockets. */
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return 4;
  printf("send %zd\n", send(pair[0], (void*)(regs + 0x30), 4, 0));
  printf("recv %zd\n", recv(pair[1], (void*)(regs + 0x400), 4, 0));
  printf("socket %08x\n", load32(regs + 0x400));

  /* ioctl writing an int into traced memory (an old request without its size). */
  if (write(pipe_ends[1], "xyz", 3) != 3) return 5;
  printf("FIONREAD %d", ioctl(pipe_ends[0], FIONREAD, (int*)(regs + 0x500)));
  printf(" %u\n", load32(regs + 0x500));

  /* futex on a traced word: wake nobody, and a wait that finds another value. */
  store32(regs + 0x600, 7);
  printf("wake %ld\n", syscall(SYS_futex, (void*)(regs + 0x600), FUTEX_WAKE, 1, NULL, NULL, 0));
  long waited = syscall(SYS_futex, (void*)(regs + 0x600), FUTEX_WAIT, 8, NULL, NULL, 0);
  printf("wait %ld %s\n", waited, waited == 0 ? "" : strerror(errno));

  /* An invalid buffer still fails as it should. */
  void* volatile bad = (void*)8;
  errno = 0;
  printf("bad %zd %s\n", write(pipe_ends[1], bad, 4), strerror(errno));

  /* Text written to standard output straight from traced memory. */
  const char* text = "hello\n";
  for (int i = 0; i < 6; ++i)
    store8(regs + 0x700 + i, (uint8_t)text[i]);
  fflush(stdout);
  if (write(1, (void*)(regs + 0x700), 6) != 6) return 6;
  puts("EXIT-SUCCESS");
  return 0;
}
