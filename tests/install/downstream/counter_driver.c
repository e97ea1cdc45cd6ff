/* The driver of the downstream plugin's device: maps the path it is given, checks the ID
 * register and reads the counter three times. Exits 0 when the device answers as the plugin
 * should (which it does only under `mmiotrace record --device counter.so@PATH`). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: counter_driver DEVICE\n");
    return 2;
  }
  int fd = open(argv[1], O_RDWR);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  volatile uint32_t* regs = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (regs == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  uint32_t id = regs[0];
  uint32_t first = regs[1], second = regs[1], third = regs[1];
  printf("counter_driver: id %#x, counts %u %u %u\n", id, first, second, third);
  return id == 0xc0de0001u && first == 1 && second == 2 && third == 3 ? 0 : 1;
}
