/* A masked vector load at the end of a file's last page, as glibc's string functions make them
 * (memcmp's EVEX variant reads a short buffer's tail with a mask): the mapping runs a page past
 * the end of the file, where any access raises SIGBUS, and the load's 32 bytes reach into that
 * page, but its mask selects only the 8 bytes before it, so the CPU suppresses the fault. Traced,
 * the program must read the same bytes and live on. */
#include <immintrin.h>
#include <inttypes.h>

#include "prog_support.h"

__attribute__((target("avx2"))) static void masked_load(volatile uint8_t* at, uint32_t out[8]) {
  __m256i mask = _mm256_setr_epi32(-1, -1, 0, 0, 0, 0, 0, 0);
  __m256i loaded;
  /* One known instruction, so that the expected trace does not depend on the compiler. */
  __asm__ volatile("vpmaskmovd (%1), %2, %0" : "=x"(loaded) : "r"(at), "x"(mask) : "memory");
  _mm256_storeu_si256((__m256i*)out, loaded);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2")) {
    puts("this machine has no AVX2");
    return 77;
  }
  /* The file holds one page; the mapping is two. */
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 4096, 0);
  munmap((void*)regs, 4096);
  char path[4096];
  snprintf(path, sizeof(path), "%s/device.reg", argv[1]);
  int fd = open(path, O_RDWR);
  regs = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (regs == MAP_FAILED) return 93;
  close(fd);
  uint32_t words[8];
  masked_load(regs + 4096 - 8, words);
  printf("masked load: %08" PRIx32 " %08" PRIx32 ", the rest %s\n", words[0], words[1],
         words[2] | words[3] | words[4] | words[5] | words[6] | words[7] ? "set" : "zero");
  munmap((void*)regs, 8192);
  puts("EXIT-SUCCESS");
  return 0;
}
