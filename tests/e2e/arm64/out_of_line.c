/* SVE loads and stores, which the AArch64 emulator does not carry out, on a traced register
 * file: they run out of line on the second mapping, so that the program sees what it sees
 * untraced, and the trace holds one record per active element, after a MARK per instruction;
 * the plain loads and stores around them are emulated and show what the SVE stores left. A
 * predicated load of a page's last bytes, its vector reaching past the mapping, touches only
 * them, traced as untraced. Last, an SVE load past the end of the file raises the SIGBUS it
 * raises untraced, at the program's own address, and is not recorded. Every result is printed:
 * the traced output must equal the untraced one. */
#include <signal.h>
#include <string.h>

#include "arm64_support.h"

static volatile uint8_t* g_registers;
static volatile uint8_t* g_past_end;

static void on_sigbus(int signo, siginfo_t* info, void* context) {
  (void)signo;
  (void)context;
  char line[96];
  int length = snprintf(line, sizeof line, "SIGBUS at %td past the second mapping\n",
                        (volatile uint8_t*)info->si_addr - g_past_end);
  if (write(1, line, (size_t)length) < 0) _exit(8);
  _exit(3);
}

static uint32_t load32(unsigned offset) {
  uint32_t value;
  __asm__ volatile("ldr %w0, [%1]" : "=r"(value) : "r"(g_registers + offset) : "memory");
  return value;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  setvbuf(stdout, NULL, _IOLBF, 0); /* the SIGBUS handler ends it with _exit() */
  /* One page of registers, mapped twice: alone, and as the first of two pages (the second, past
   * the end of the file, raises SIGBUS). */
  char path[4096];
  snprintf(path, sizeof path, "%s/device.reg", argv[1]);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 4096) != 0) return 90;
  g_registers = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  volatile uint8_t* past_end = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (g_registers == MAP_FAILED || past_end == MAP_FAILED) return 92;
  close(fd);
  g_past_end = past_end;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_sigbus;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &action, NULL);

  __asm__ volatile("str %w1, [%0, #0x40]" ::"r"(g_registers), "r"(0x44332211u) : "memory");
  /* ST1B of four active bytes (0xa0..0xa3) at 0x80: scalar plus immediate. */
  __asm__ volatile(
      "ptrue p0.b, vl4\n"
      "index z0.b, %w1, #1\n"
      "st1b {z0.b}, p0, [%0]"
      :
      : "r"(g_registers + 0x80), "r"(0xa0u)
      : "z0", "p0", "memory");
  printf("after st1b: %08x\n", load32(0x80));
  /* LD1W of one word, scalar plus scalar: X[index] << 2 from 0x30, i.e. 0x40. */
  uint32_t word;
  __asm__ volatile(
      "ptrue p0.s, vl1\n"
      "ld1w {z0.s}, p0/z, [%1, %2, lsl #2]\n"
      "fmov %w0, s0"
      : "=r"(word)
      : "r"(g_registers + 0x30), "r"(4ul)
      : "z0", "p0", "memory");
  printf("ld1w: %08x\n", word);
  /* ST1H of the low halves of two 32-bit elements, then LD1RQB of 16 bytes. */
  __asm__ volatile(
      "ptrue p0.s, vl2\n"
      "index z0.s, %w1, %w2\n"
      "st1h {z0.s}, p0, [%0]"
      :
      : "r"(g_registers + 0xc0), "r"(0x55667788u), "r"(0x11111111u)
      : "z0", "p0", "memory");
  uint64_t low, high;
  __asm__ volatile(
      "ptrue p0.b, vl16\n"
      "ld1rqb {z0.b}, p0/z, [%2, #-16]\n"
      "fmov %0, d0\n"
      "mov %1, v0.d[1]"
      : "=r"(low), "=r"(high)
      : "r"(g_registers + 0xd0)
      : "z0", "p0", "memory");
  printf("ld1rqb: %016llx %016llx\n", (unsigned long long)high, (unsigned long long)low);
  printf("after st1h: %08x %08x\n", load32(0xc0), load32(0xc4));
  /* The tail of a predicated copy: the last four bytes of the page, the rest of the vector
   * inactive (past the end of the mapping). */
  __asm__ volatile("str %w1, [%0, #0xffc]" ::"r"(g_registers), "r"(0xd4c3b2a1u) : "memory");
  __asm__ volatile(
      "ptrue p0.b, vl4\n"
      "ld1b {z0.b}, p0/z, [%1]\n"
      "fmov %w0, s0"
      : "=r"(word)
      : "r"(g_registers + 0xffc)
      : "z0", "p0", "memory");
  printf("tail: %08x\n", word);
  /* An SVE load past the end of the file. */
  uint8_t byte;
  __asm__ volatile(
      "ptrue p0.b, vl1\n"
      "ld1b {z0.b}, p0/z, [%1]\n"
      "umov %w0, v0.b[0]"
      : "=r"(byte)
      : "r"(past_end + 4096 + 0x20)
      : "z0", "p0", "memory");
  printf("past the end: %02x\n", byte);
  puts("EXIT-SUCCESS");
  return 0;
}
