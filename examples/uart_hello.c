/* uart_hello: writes "hello, world" through a memory-mapped 16550A UART. It maps the UART's
 * register page from a path (a virtual device under `mmiotrace record --device
 * uart16550@PATH`), programs 115200 baud 8N1 for a 1.8432 MHz clock, enables the FIFOs, and
 * sends each byte once LSR says the transmitter holding register is empty.
 *
 * usage: uart_hello PATH [SHIFT [MESSAGE]]
 * MESSAGE replaces "hello, world" (a newline follows it).
 * Register r is at offset r << SHIFT (0 to 3, default 0); with SHIFT >= 2 the registers are
 * accessed 32 bits wide, as on most SoCs that space them so. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
  PAGE_SIZE_BYTES = 4096,
  REG_THR = 0, /* DLL when LCR.DLAB */
  REG_IER = 1, /* DLM when LCR.DLAB */
  REG_FCR = 2,
  REG_LCR = 3,
  REG_MCR = 4,
  REG_LSR = 5,

  LCR_DLAB = 0x80,
  LCR_8N1 = 0x03,
  FCR_ENABLE_AND_CLEAR = 0x07,
  MCR_DTR_RTS = 0x03,
  LSR_THRE = 0x20,
  LSR_TEMT = 0x40,

  CLOCK_HZ = 1843200,
  BAUD = 115200,
  TIMEOUT_MS = 1000,
};

static volatile uint8_t* regs;
static unsigned shift;

static inline uint8_t read_reg(unsigned reg) {
  if (shift >= 2) {
    uint32_t value = *(volatile uint32_t*)(regs + (reg << shift));
    return (uint8_t)value;
  }
  return *(regs + (reg << shift));
}
static inline void write_reg(unsigned reg, uint8_t value) {
  if (shift >= 2) {
    *(volatile uint32_t*)(regs + (reg << shift)) = value;
  } else {
    *(regs + (reg << shift)) = value;
  }
}

static uint64_t now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* Polls LSR until `bit` is set; exits with a message after TIMEOUT_MS. */
static void wait_for_lsr(uint8_t bit, const char* what) {
  uint64_t deadline = now_ms() + TIMEOUT_MS;
  while (!(read_reg(REG_LSR) & bit)) {
    if (now_ms() >= deadline) {
      fprintf(stderr, "uart_hello: timed out after %d ms waiting for %s (LSR 0x%02x)\n", TIMEOUT_MS,
              what, read_reg(REG_LSR));
      exit(1);
    }
  }
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: uart_hello PATH [SHIFT [MESSAGE]]\n");
    return 2;
  }
  const char* path = argv[1];
  if (argc >= 3) {
    char* end;
    unsigned long value = strtoul(argv[2], &end, 0);
    if (*argv[2] == '\0' || *end != '\0' || value > 3) {
      fprintf(stderr, "uart_hello: SHIFT must be 0, 1, 2 or 3, not '%s'\n", argv[2]);
      return 2;
    }
    shift = (unsigned)value;
  }
  int fd = open(path, O_RDWR | O_SYNC);
  if (fd < 0) {
    fprintf(stderr, "uart_hello: cannot open %s: %s\n", path, strerror(errno));
    return 1;
  }
  struct stat status;
  if (fstat(fd, &status) != 0) {
    fprintf(stderr, "uart_hello: cannot stat %s: %s\n", path, strerror(errno));
    return 1;
  }
  if (S_ISREG(status.st_mode) && status.st_size < PAGE_SIZE_BYTES) {
    fprintf(stderr, "uart_hello: %s has %lld bytes, fewer than a page\n", path,
            (long long)status.st_size);
    return 1;
  }
  void* mapping = mmap(NULL, PAGE_SIZE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mapping == MAP_FAILED) {
    fprintf(stderr, "uart_hello: cannot map %s: %s\n", path, strerror(errno));
    return 1;
  }
  close(fd);
  regs = mapping;

  unsigned divisor = CLOCK_HZ / (16 * BAUD); /* 1 */
  write_reg(REG_IER, 0);                     /* polled: no interrupts */
  write_reg(REG_LCR, LCR_DLAB);
  write_reg(REG_THR, divisor & 0xff); /* DLL */
  write_reg(REG_IER, divisor >> 8);   /* DLM */
  write_reg(REG_LCR, LCR_8N1);
  write_reg(REG_FCR, FCR_ENABLE_AND_CLEAR);
  write_reg(REG_MCR, MCR_DTR_RTS);

  const char* message = argc == 4 ? argv[3] : "hello, world";
  for (const char* c = message;; ++c) {
    wait_for_lsr(LSR_THRE, "LSR.THRE (transmitter holding register empty)");
    write_reg(REG_THR, *c ? (uint8_t)*c : (uint8_t)'\n');
    if (*c == '\0') break;
  }
  wait_for_lsr(LSR_TEMT, "LSR.TEMT (transmitter empty)");
  munmap(mapping, PAGE_SIZE_BYTES);
  return 0;
}
