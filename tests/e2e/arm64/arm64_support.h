/* Helpers for the AArch64 end-to-end programs: a register file to map (as tests/progs does). */
#ifndef MMIOTRACE_ARM64_SUPPORT_H
#define MMIOTRACE_ARM64_SUPPORT_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(__aarch64__)
#error "the AArch64 end-to-end programs are built for AArch64 only"
#endif

/* Creates DIR/NAME with SIZE bytes, byte i holding (i * 13 + 1) & 0xff, and maps it shared. */
static inline volatile uint8_t* map_register_file(const char* dir, const char* name, size_t size) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    perror(path);
    exit(90);
  }
  uint8_t* content = malloc(size);
  for (size_t i = 0; i < size; ++i)
    content[i] = (uint8_t)(i * 13 + 1);
  if (write(fd, content, size) != (ssize_t)size) exit(91);
  free(content);
  void* map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    perror("mmap");
    exit(92);
  }
  close(fd);
  return (volatile uint8_t*)map;
}

#endif
