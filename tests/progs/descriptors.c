/* A file is traced whatever the path it was opened by (relative, through a symbolic link,
 * through /proc/self/fd) and whatever function opened it (open, open64, openat, fopen), and
 * through dup(), dup2() and after close(). A program that closes every descriptor it does not
 * know still has its children traced. ioctl() on a traced file is logged. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/ioctl.h>

#include "prog_support.h"

static void make_file(const char* name) {
  int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
  char page[4096];
  for (int i = 0; i < 4096; ++i)
    page[i] = (char)(i * 13 + 1);
  if (fd < 0 || write(fd, page, sizeof(page)) != sizeof(page)) exit(90);
  close(fd);
}

static void poke(int fd, uint32_t value) {
  volatile uint8_t* map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) exit(91);
  store32(map, value);
  munmap((void*)map, 4096);
}

struct request {
  uint32_t words[4];
};

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[2], "after-exec") == 0) {
    int fd = open("exec.reg", O_RDWR);
    poke(fd, 9);
    puts("EXIT-SUCCESS");
    return 0;
  }
  if (argc != 2) return 2;
  if (chdir(argv[1]) != 0) return 3;
  const char* names[] = {"relative.reg", "target.reg", "proc.reg", "at.reg",
                         "open64.reg",   "fopen.reg",  "dup.reg",  "exec.reg"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i)
    make_file(names[i]);
  if (symlink("target.reg", "link-to-target") != 0) return 4;

  int fd = open("relative.reg", O_RDWR);
  poke(fd, 1);
  close(fd);
  fd = open("link-to-target", O_RDWR);
  poke(fd, 2);
  close(fd);
  int first = open("proc.reg", O_RDWR);
  char proc_path[64];
  snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", first);
  fd = open(proc_path, O_RDWR);
  poke(fd, 3);
  close(fd);
  close(first);
  int directory = open(".", O_RDONLY | O_DIRECTORY);
  fd = openat(directory, "at.reg", O_RDWR);
  poke(fd, 4);
  close(fd);
  close(directory);
  fd = open64("open64.reg", O_RDWR);
  poke(fd, 5);
  close(fd);
  FILE* file = fopen("fopen.reg", "r+");
  poke(fileno(file), 6);
  fclose(file);

  fd = open("dup.reg", O_RDWR);
  int copy = dup(fd);
  int copy2 = dup2(fd, 40);
  close(fd);
  poke(copy, 7);
  volatile uint8_t* map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, copy2, 0);
  close(copy2);
  store32(map + 4, 8); /* still traced with its descriptor closed */
  munmap((void*)map, 4096);

  /* ioctl on a traced file: logged, whether the request is known to the file or not. (At a
   * fixed descriptor, as the trace names it.) */
  int known = dup2(copy, 60);
  close(copy);
  int bytes = -1;
  printf("FIONREAD %d", ioctl(known, FIONREAD, &bytes));
  printf(" %d\n", bytes);
  struct request request = {{0x11, 0x22, 0x33, 0x44}};
  printf("unknown request %d\n", ioctl(known, _IOWR('x', 0x42, struct request), &request));
  close(known);

  /* Close every descriptor but the standard ones, then run ourselves again. */
  closefrom(3);
  fflush(stdout);
  execl("/proc/self/exe", argv[0], argv[1], "after-exec", (char*)NULL);
  return 1;
}
