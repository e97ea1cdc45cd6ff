/* Helpers for the end-to-end test programs: register files to map (for the AArch64 programs of
 * tests/e2e/arm64 too), and x86-64 accesses made by one known instruction each (so that the
 * expected traces do not depend on the compiler). */
#ifndef MMIOTRACE_PROG_SUPPORT_H
#define MMIOTRACE_PROG_SUPPORT_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Creates DIR/NAME with SIZE bytes, byte i holding (i * 13 + 1) & 0xff, and maps it shared. */
static inline volatile uint8_t* map_register_file(const char* dir, const char* name, size_t size,
                                                  off_t offset) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    perror(path);
    exit(90);
  }
  uint8_t* content = malloc(size + (size_t)offset);
  for (size_t i = 0; i < size + (size_t)offset; ++i)
    content[i] = (uint8_t)(i * 13 + 1);
  if (write(fd, content, size + (size_t)offset) != (ssize_t)(size + (size_t)offset)) exit(91);
  free(content);
  void* map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
  if (map == MAP_FAILED) {
    perror("mmap");
    exit(92);
  }
  close(fd);
  return (volatile uint8_t*)map;
}

#if defined(__x86_64__)
static inline void store8(volatile void* a, uint8_t v) {
  __asm__ volatile("movb %b1, (%0)" ::"r"(a), "q"(v) : "memory");
}
static inline void store16(volatile void* a, uint16_t v) {
  __asm__ volatile("movw %w1, (%0)" ::"r"(a), "r"(v) : "memory");
}
static inline void store32(volatile void* a, uint32_t v) {
  __asm__ volatile("movl %k1, (%0)" ::"r"(a), "r"(v) : "memory");
}
static inline void store64(volatile void* a, uint64_t v) {
  __asm__ volatile("movq %q1, (%0)" ::"r"(a), "r"(v) : "memory");
}
static inline uint8_t load8(volatile void* a) {
  uint32_t v;
  __asm__ volatile("movzbl (%1), %0" : "=r"(v) : "r"(a) : "memory");
  return (uint8_t)v;
}
static inline uint16_t load16(volatile void* a) {
  uint32_t v;
  __asm__ volatile("movzwl (%1), %0" : "=r"(v) : "r"(a) : "memory");
  return (uint16_t)v;
}
static inline uint32_t load32(volatile void* a) {
  uint32_t v;
  __asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory");
  return v;
}
static inline uint64_t load64(volatile void* a) {
  uint64_t v;
  __asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(a) : "memory");
  return v;
}

#endif

#endif
