/* The registers that the code cache's flushes must keep: sets every vector register (ymm0-15,
 * or zmm0-31 and the masks k0-7 where the CPU has AVX-512), eight x87 values, the x87 control
 * word and MXCSR, then loads a traced register in a tight loop (translated into the code cache,
 * its log flushed into the trace many times over), then checks that every one of them is as it
 * was. Prints what it loaded in total. Usage: vector_state DIR [ITERATIONS] */
#include <string.h>

#include "prog_support.h"

struct state {
  uint8_t vectors[32][64];
  uint64_t masks[8];
  uint8_t x87[8][16]; /* 80-bit values, st(0) first */
  uint32_t mxcsr;
  uint16_t x87_control;
} __attribute__((aligned(64)));

static struct state in, out;

#define LOAD1(op, reg, i, base) op " " #i "*64(%" base "), %%" reg #i "\n\t"
#define STORE1(op, reg, i, base) op " %%" reg #i ", " #i "*64(%" base ")\n\t"
// One register a column, which clang-format does not keep steady:
// clang-format off
#define EACH_0_15(M, op, reg, base)                                                          \
  M(op, reg, 0, base) M(op, reg, 1, base) M(op, reg, 2, base) M(op, reg, 3, base)           \
  M(op, reg, 4, base) M(op, reg, 5, base) M(op, reg, 6, base) M(op, reg, 7, base)           \
  M(op, reg, 8, base) M(op, reg, 9, base) M(op, reg, 10, base) M(op, reg, 11, base)         \
  M(op, reg, 12, base) M(op, reg, 13, base) M(op, reg, 14, base) M(op, reg, 15, base)
#define EACH_16_31(M, op, reg, base)                                                         \
  M(op, reg, 16, base) M(op, reg, 17, base) M(op, reg, 18, base) M(op, reg, 19, base)       \
  M(op, reg, 20, base) M(op, reg, 21, base) M(op, reg, 22, base) M(op, reg, 23, base)       \
  M(op, reg, 24, base) M(op, reg, 25, base) M(op, reg, 26, base) M(op, reg, 27, base)       \
  M(op, reg, 28, base) M(op, reg, 29, base) M(op, reg, 30, base) M(op, reg, 31, base)
// clang-format on

/* Loads the state, sums `count` loads of *reg, stores the state. x87 and MXCSR included. */
#define X87_LOAD                                                                \
  "ldmxcsr 2240(%[in])\n\tfninit\n\tfldcw 2244(%[in])\n\t"                      \
  "fldt 7*16+2112(%[in])\n\tfldt 6*16+2112(%[in])\n\tfldt 5*16+2112(%[in])\n\t" \
  "fldt 4*16+2112(%[in])\n\tfldt 3*16+2112(%[in])\n\tfldt 2*16+2112(%[in])\n\t" \
  "fldt 1*16+2112(%[in])\n\tfldt 0*16+2112(%[in])\n\t"
#define X87_STORE                                                                     \
  "fstpt 0*16+2112(%[out])\n\tfstpt 1*16+2112(%[out])\n\tfstpt 2*16+2112(%[out])\n\t" \
  "fstpt 3*16+2112(%[out])\n\tfstpt 4*16+2112(%[out])\n\tfstpt 5*16+2112(%[out])\n\t" \
  "fstpt 6*16+2112(%[out])\n\tfstpt 7*16+2112(%[out])\n\t"                            \
  "stmxcsr 2240(%[out])\n\tfnstcw 2244(%[out])\n\t"
#define LOOP                   \
  "1: mov (%[reg]), %%rdx\n\t" \
  "add %%rdx, %[sum]\n\t"      \
  "dec %[count]\n\t"           \
  "jnz 1b\n\t"

static uint64_t run_ymm(volatile uint8_t* reg, uint64_t count) {
  uint64_t sum = 0;
  __asm__ volatile(X87_LOAD EACH_0_15(LOAD1, "vmovdqu", "ymm", "[in]")
                       LOOP EACH_0_15(STORE1, "vmovdqu", "ymm", "[out]") X87_STORE "vzeroupper"
                   : [sum] "+r"(sum), [count] "+r"(count)
                   : [reg] "r"(reg), [in] "r"(&in), [out] "r"(&out)
                   : "memory", "cc", "rdx", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
                     "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
                     "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)");
  return sum;
}

static uint64_t run_zmm(volatile uint8_t* reg, uint64_t count) {
  uint64_t sum = 0;
  __asm__ volatile(X87_LOAD EACH_0_15(LOAD1, "vmovdqu64", "zmm", "[in]")
                   EACH_16_31(LOAD1, "vmovdqu64", "zmm", "[in]")
                   "kmovq 2048(%[in]), %%k0\n\tkmovq 2056(%[in]), %%k1\n\t"
                   "kmovq 2064(%[in]), %%k2\n\tkmovq 2072(%[in]), %%k3\n\t"
                   "kmovq 2080(%[in]), %%k4\n\tkmovq 2088(%[in]), %%k5\n\t"
                   "kmovq 2096(%[in]), %%k6\n\tkmovq 2104(%[in]), %%k7\n\t" LOOP
                   EACH_0_15(STORE1, "vmovdqu64", "zmm", "[out]")
                   EACH_16_31(STORE1, "vmovdqu64", "zmm", "[out]")
                   "kmovq %%k0, 2048(%[out])\n\tkmovq %%k1, 2056(%[out])\n\t"
                   "kmovq %%k2, 2064(%[out])\n\tkmovq %%k3, 2072(%[out])\n\t"
                   "kmovq %%k4, 2080(%[out])\n\tkmovq %%k5, 2088(%[out])\n\t"
                   "kmovq %%k6, 2096(%[out])\n\tkmovq %%k7, 2104(%[out])\n\t" X87_STORE
                   "vzeroupper"
                   : [sum] "+r"(sum), [count] "+r"(count)
                   : [reg] "r"(reg), [in] "r"(&in), [out] "r"(&out)
                   : "memory", "cc", "rdx", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
                     "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
                     "xmm15", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)");
  return sum;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  uint64_t iterations = argc > 2 ? strtoull(argv[2], NULL, 0) : 100000;
  volatile uint8_t* regs = map_register_file(argv[1], "device.reg", 4096, 0);
  store64(regs + 8, 3);
  for (size_t i = 0; i < sizeof(in.vectors); ++i) {
    (&in.vectors[0][0])[i] = (uint8_t)(i * 7 + 3);
  }
  for (int i = 0; i < 8; ++i)
    in.masks[i] = 0x1111111111111111ull * (uint64_t)(i + 1);
  for (int i = 0; i < 8; ++i) {
    long double value = 1.25L * (i + 1) / 3; /* all 64 mantissa bits in use */
    memcpy(in.x87[i], &value, 10);
  }
  in.mxcsr = 0x3f80;       /* round down, exceptions masked */
  in.x87_control = 0x077f; /* round down */
  int zmm = __builtin_cpu_supports("avx512f");
  if (!__builtin_cpu_supports("avx2")) {
    puts("no AVX2: nothing to check");
    return 0;
  }
  uint64_t sum = zmm ? run_zmm(regs + 8, iterations) : run_ymm(regs + 8, iterations);
  int bad = 0;
  size_t vectors = zmm ? 32 : 16, bytes = zmm ? 64 : 32;
  for (size_t r = 0; r < vectors; ++r) {
    if (memcmp(in.vectors[r], out.vectors[r], bytes) != 0) {
      printf("vector register %zu changed\n", r);
      bad = 1;
    }
  }
  for (int k = 0; zmm && k < 8; ++k) {
    if (in.masks[k] != out.masks[k]) {
      printf("k%d changed\n", k);
      bad = 1;
    }
  }
  for (int i = 0; i < 8; ++i) {
    if (memcmp(in.x87[i], out.x87[i], 10) != 0) {
      printf("st(%d) changed\n", i);
      bad = 1;
    }
  }
  if ((out.mxcsr & ~0x3fu) != in.mxcsr) {
    printf("MXCSR changed: %#x\n", out.mxcsr);
    bad = 1;
  }
  if (out.x87_control != in.x87_control) {
    printf("x87 control word changed: %#x\n", out.x87_control);
    bad = 1;
  }
  printf("sum %llu\n", (unsigned long long)sum);
  return bad ? 7 : 0;
}
