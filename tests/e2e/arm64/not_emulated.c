/* An access the AArch64 emulator can neither carry out nor run out of line (an SVE gather, whose
 * vector offsets could reach anywhere) on a traced register file: traced, the program gets the
 * SIGSEGV the access raises, and the trace a MARK that says why; untraced, the load succeeds.
 * Either way the program says what happened. */
#include <signal.h>
#include <string.h>

#include "arm64_support.h"

static volatile uint8_t* g_registers;

static void on_segv(int signo, siginfo_t* info, void* context) {
  (void)signo;
  (void)context;
  char line[96];
  int length = snprintf(line, sizeof line, "SIGSEGV at register %td\n",
                        (volatile uint8_t*)info->si_addr - g_registers);
  if (write(1, line, (size_t)length) < 0) _exit(8);
  _exit(7);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  g_registers = map_register_file(argv[1], "device.reg", 4096, 0);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_segv;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &action, NULL);
  __asm__ volatile("str %w1, [%0, #0x40]" ::"r"(g_registers), "r"(0x1234u) : "memory");
  uint8_t first;
  __asm__ volatile(
      "ptrue p0.d, vl1\n"
      "mov z1.d, #0\n"
      "ld1d {z0.d}, p0/z, [%1, z1.d]\n"
      "umov %w0, v0.b[0]"
      : "=r"(first)
      : "r"(g_registers + 0x40)
      : "z0", "z1", "p0", "memory");
  printf("loaded %02x\n", first);
  puts("EXIT-SUCCESS");
  return 0;
}
