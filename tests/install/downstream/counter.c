/* A downstream device-model plugin, built against the installed mmiotrace/device.h alone, as
 * C99: an ID register (0x00, 0xc0de0001) and a counter (0x04) that counts its own reads. */
#include <mmiotrace/device.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct counter {
  uint32_t reads;
};

static void* counter_create(const char* arguments, char* error, size_t error_size) {
  if (arguments != NULL && arguments[0] != '\0') {
    strncpy(error, "counter: takes no arguments", error_size - 1);
    error[error_size - 1] = '\0';
    return NULL;
  }
  return calloc(1, sizeof(struct counter));
}
static void counter_destroy(void* device) {
  free(device);
}
static uint64_t counter_size(void* device) {
  (void)device;
  return 4096;
}
static uint64_t counter_read(void* device, uint64_t offset, uint32_t width) {
  struct counter* counter = device;
  (void)width;
  if (offset == 0) return 0xc0de0001u;
  if (offset == 4) return ++counter->reads;
  return 0;
}
static void counter_write(void* device, uint64_t offset, uint32_t width, uint64_t value) {
  (void)offset;
  (void)width;
  (void)value;
  (void)device;
}
static void counter_reset(void* device) {
  ((struct counter*)device)->reads = 0;
}

static const struct mmiotrace_register counter_registers[] = {
    {"ID", 0, 4, "identification"}, {"COUNT", 4, 4, "reads of itself"}, {NULL, 0, 0, NULL}};

static const struct mmiotrace_device_model counter_model = {MMIOTRACE_DEVICE_ABI_VERSION,
                                                            "counter",
                                                            "a register that counts its reads",
                                                            "",
                                                            counter_create,
                                                            counter_destroy,
                                                            counter_size,
                                                            counter_read,
                                                            counter_write,
                                                            counter_reset,
                                                            NULL,
                                                            counter_registers};

__attribute__((visibility("default"))) const struct mmiotrace_device_model* mmiotrace_device_model(
    void) {
  return &counter_model;
}
