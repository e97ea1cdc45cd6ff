/* A device model plugin for model_catalog_test: four 32-bit registers, ID (read-only, 0x1234abcd)
 * and three scratch registers. With MMIOTRACE_TEST_PLUGIN_BROKEN=abi or =read in the environment
 * it returns a table with a wrong ABI version or without read(), to test the catalog's checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mmiotrace/device.h"

struct scratch {
  uint32_t registers[4];
};

static void* scratch_create(const char* arguments, char* error, size_t error_size) {
  if (arguments && arguments[0] != '\0') {
    strncpy(error, "test_plugin: takes no arguments", error_size - 1);
    error[error_size - 1] = '\0';
    return NULL;
  }
  struct scratch* device = calloc(1, sizeof *device);
  if (device) device->registers[0] = 0x1234abcd;
  return device;
}
static void scratch_destroy(void* device) {
  free(device);
}
static uint64_t scratch_size(void* device) {
  (void)device;
  return 4096;
}
static uint64_t scratch_read(void* device, uint64_t offset, uint32_t width) {
  (void)width;
  struct scratch* s = device;
  return offset < 16 && offset % 4 == 0 ? s->registers[offset / 4] : 0;
}
static void scratch_write(void* device, uint64_t offset, uint32_t width, uint64_t value) {
  (void)width;
  struct scratch* s = device;
  if (offset >= 4 && offset < 16 && offset % 4 == 0) s->registers[offset / 4] = (uint32_t)value;
}
static void scratch_reset(void* device) {
  struct scratch* s = device;
  memset(s->registers, 0, sizeof s->registers);
  s->registers[0] = 0x1234abcd;
}

static const struct mmiotrace_register scratch_registers[] = {
    {"ID", 0x0, 4, "identification, reads 0x1234abcd"},
    {"SCRATCH0", 0x4, 4, NULL},
    {"SCRATCH1", 0x8, 4, NULL},
    {"SCRATCH2", 0xc, 4, NULL},
    {NULL, 0, 0, NULL},
};

static const struct mmiotrace_device_model scratch_model = {
    MMIOTRACE_DEVICE_ABI_VERSION,
    "test_plugin",
    "a test plugin: an ID and scratch registers",
    "",
    scratch_create,
    scratch_destroy,
    scratch_size,
    scratch_read,
    scratch_write,
    scratch_reset,
    NULL,
    scratch_registers,
};

/* The one exported symbol; default visibility, since the project builds with -fvisibility=hidden.
 */
__attribute__((visibility("default"))) const struct mmiotrace_device_model* mmiotrace_device_model(
    void);
const struct mmiotrace_device_model* mmiotrace_device_model(void) {
  static struct mmiotrace_device_model broken;
  const char* how = getenv("MMIOTRACE_TEST_PLUGIN_BROKEN");
  if (!how) return &scratch_model;
  broken = scratch_model;
  if (strcmp(how, "abi") == 0) broken.abi_version = MMIOTRACE_DEVICE_ABI_VERSION + 1;
  if (strcmp(how, "read") == 0) broken.read = NULL;
  return &broken;
}
