/* One instruction of each AArch64 load/store class on a traced register file, each written in
 * assembly so that the expected trace does not depend on the compiler: plain loads and stores
 * of every width (sign-extending too), the addressing modes, pairs, acquire/release,
 * exclusives, LSE atomics, SIMD&FP registers and structures, and DC ZVA. It prints what each
 * left in registers and memory: the same traced and untraced. */
#include <inttypes.h>
#include <string.h>

#include "arm64_support.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  volatile uint8_t* r = map_register_file(argv[1], "device.reg", 4096, 0);
  uint64_t a = 0, b = 0, c = 0;

  /* Plain loads and stores, each width. */
  __asm__ volatile("strb %w1, [%0, #1]" ::"r"(r), "r"(0xa1u) : "memory");
  __asm__ volatile("strh %w1, [%0, #2]" ::"r"(r), "r"(0xb2b2u) : "memory");
  __asm__ volatile("str %w1, [%0, #4]" ::"r"(r), "r"(0xc3c3c3c3u) : "memory");
  __asm__ volatile("str %1, [%0, #8]" ::"r"(r), "r"(0xd4d4d4d4d4d4d4d4ull) : "memory");
  __asm__ volatile("ldrsb %0, [%1, #1]" : "=r"(a) : "r"(r) : "memory");
  __asm__ volatile("ldrsh %w0, [%1, #2]" : "=r"(b) : "r"(r) : "memory");
  __asm__ volatile("ldr %0, [%1, #8]" : "=r"(c) : "r"(r) : "memory");
  printf("plain: %" PRIx64 " %" PRIx64 " %" PRIx64 "\n", a, b, c);

  /* Addressing modes: pre-index, post-index, register offset with shift, unscaled. */
  volatile uint8_t* base = r + 0x20;
  __asm__ volatile("str %w1, [%0, #8]!" : "+r"(base) : "r"(0x11111111u) : "memory");
  __asm__ volatile("ldr %w1, [%0], #4" : "+r"(base), "=r"(a) : : "memory");
  __asm__ volatile("ldr %w0, [%1, %2, lsl #2]" : "=r"(b) : "r"(r), "r"(3ul) : "memory");
  __asm__ volatile("stur %w1, [%0, #-3]" ::"r"(r + 0x40), "r"(0x22u) : "memory");
  printf("modes: base+%td %" PRIx64 " %" PRIx64 "\n", base - r, a, b);

  /* Pairs. */
  __asm__ volatile("stp %1, %2, [%0, #0x50]" ::"r"(r), "r"(0x1234ull), "r"(0x5678ull) : "memory");
  __asm__ volatile("ldp %0, %1, [%2, #0x50]" : "=&r"(a), "=&r"(b) : "r"(r) : "memory");
  __asm__ volatile("stp %w1, %w2, [%0, #0x60]" ::"r"(r), "r"(0xfffffff0u), "r"(7u) : "memory");
  __asm__ volatile("ldpsw %0, %1, [%2, #0x60]" : "=&r"(a), "=&r"(c) : "r"(r) : "memory");
  printf("pairs: %" PRIx64 " %" PRIx64 "\n", a, c);

  /* Acquire and release. */
  __asm__ volatile("stlr %w1, [%0]" ::"r"(r + 0x70), "r"(0x77u) : "memory");
  __asm__ volatile("ldar %w0, [%1]" : "=r"(a) : "r"(r + 0x70) : "memory");
  __asm__ volatile("ldapr %w0, [%1]" : "=r"(b) : "r"(r + 0x70) : "memory");
  printf("acquire: %" PRIx64 " %" PRIx64 "\n", a, b);

  /* Exclusives: an increment loop, and a pair. */
  uint32_t value, status;
  __asm__ volatile(
      "1: ldaxr %w0, [%2]\n"
      "   add %w0, %w0, #1\n"
      "   stlxr %w1, %w0, [%2]\n"
      "   cbnz %w1, 1b"
      : "=&r"(value), "=&r"(status)
      : "r"(r + 0x70)
      : "memory");
  uint64_t low, high;
  __asm__ volatile(
      "1: ldxp %0, %1, [%3]\n"
      "   add %0, %0, #1\n"
      "   stxp %w2, %0, %1, [%3]\n"
      "   cbnz %w2, 1b"
      : "=&r"(low), "=&r"(high), "=&r"(status)
      : "r"(r + 0x50)
      : "memory");
  printf("exclusives: %" PRIx32 " %" PRIx64 " %" PRIx64 "\n", value, low, high);

  /* LSE atomics. */
  __asm__ volatile("ldaddal %1, %0, [%2]" : "=r"(a) : "r"(5ull), "r"(r + 0x80) : "memory");
  __asm__ volatile("ldset %w1, %w0, [%2]" : "=r"(b) : "r"(0x100u), "r"(r + 0x88) : "memory");
  __asm__ volatile("swpb %w1, %w0, [%2]" : "=r"(c) : "r"(0x5au), "r"(r + 0x8c) : "memory");
  printf("lse: %" PRIx64 " %" PRIx64 " %" PRIx64 "\n", a, b, c);
  uint64_t expected = 0x42;
  __asm__ volatile("casal %0, %1, [%2]" : "+r"(expected) : "r"(0x99ull), "r"(r + 0x80) : "memory");
  printf("cas missed: %" PRIx64 "\n", expected);
  __asm__ volatile("casal %0, %1, [%2]" : "+r"(expected) : "r"(0x99ull), "r"(r + 0x80) : "memory");
  printf("cas stored: %" PRIx64 " now %" PRIx64 "\n", expected, *(volatile uint64_t*)(r + 0x80));
  register uint64_t x0 __asm__("x0") = *(volatile uint64_t*)(r + 0x90);
  register uint64_t x1 __asm__("x1") = *(volatile uint64_t*)(r + 0x98);
  register uint64_t x2 __asm__("x2") = 0xaaaa;
  register uint64_t x3 __asm__("x3") = 0xbbbb;
  __asm__ volatile("caspal x0, x1, x2, x3, [%2]"
                   : "+r"(x0), "+r"(x1)
                   : "r"(r + 0x90), "r"(x2), "r"(x3)
                   : "memory");
  printf("casp: %" PRIx64 " %" PRIx64 "\n", *(volatile uint64_t*)(r + 0x90),
         *(volatile uint64_t*)(r + 0x98));

  /* SIMD&FP: a Q register, two structures, one lane, a replicate. */
  uint8_t bytes[32];
  __asm__ volatile("movi v0.16b, #0x3c\n str q0, [%0, #0xa0]" ::"r"(r) : "v0", "memory");
  __asm__ volatile("ldr q1, [%1, #0xa0]\n str q1, [%0]" ::"r"(bytes), "r"(r) : "v1", "memory");
  printf("q: %02x %02x\n", bytes[0], bytes[15]);
  volatile uint8_t* cursor = r + 0xb0;
  __asm__ volatile("ld2 {v2.4s, v3.4s}, [%0], #32\n st1 {v2.4s, v3.4s}, [%1]"
                   : "+r"(cursor)
                   : "r"(bytes)
                   : "v2", "v3", "memory");
  printf("ld2: +%td %02x %02x %02x\n", cursor - r, bytes[0], bytes[4], bytes[16]);
  __asm__ volatile("movi v4.8h, #0x7\n st1 {v4.h}[3], [%0]" ::"r"(r + 0xd2) : "v4", "memory");
  __asm__ volatile("ld1r {v5.8b}, [%1]\n str d5, [%0]" ::"r"(bytes), "r"(r + 0xd2)
                   : "v5", "memory");
  printf("lane: %02x %02x\n", bytes[0], bytes[7]);

  /* DC ZVA on a block of the register file. */
  __asm__ volatile("dc zva, %0" ::"r"(r + 0x800) : "memory");
  printf("zva: %02x %02x\n", r[0x800], r[0x83f]);

  munmap((void*)r, 4096);
  puts("EXIT-SUCCESS");
  return 0;
}
