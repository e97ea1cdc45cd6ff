/* mmiotrace device models: the C ABI of a virtual device that answers a traced program's
 * accesses to a mapped device, so that a driver can run with no hardware present
 * (`mmiotrace record --device MODEL[:ARGS]@PATH -- COMMAND`, docs/devices.md).
 *
 * A model is a table of functions. mmiotrace's built-in models (regfile, nvme, uart16550) are
 * such tables; a plugin is a shared object that exports `mmiotrace_device_model()` returning
 * one, and is named on the command line by its path (`--device ./mydev.so:ARGS@/dev/mydev`).
 *
 * Contexts. `create` and `destroy` run in normal context, in the traced process, when the shim
 * starts and at exit; they may allocate. `read`, `write`, `reset` and `advance` run inside
 * mmiotrace's SIGSEGV handler, on whichever thread made the access: they must not allocate,
 * take locks, use stdio or throw. System calls (write(2) to a descriptor opened in `create`,
 * clock_gettime) are fine. mmiotrace serializes the calls on one device: never two at once.
 */
#ifndef MMIOTRACE_DEVICE_H
#define MMIOTRACE_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMIOTRACE_DEVICE_ABI_VERSION 1

/* One register of a model's register map: used to name accesses (`mmiotrace dump --annotate`).
 * A map is an array ended by an entry whose `name` is NULL. */
struct mmiotrace_register {
  const char* name;        /* short name, as in the device's datasheet: "CC", "LSR" */
  uint64_t offset;         /* byte offset in the device's register space */
  uint32_t width;          /* bytes */
  const char* description; /* one line, or NULL */
};

struct mmiotrace_device_model {
  uint32_t abi_version;       /* MMIOTRACE_DEVICE_ABI_VERSION */
  const char* name;           /* "nvme" */
  const char* description;    /* one line */
  const char* arguments_help; /* the ARGS it takes: "size=BYTES,image=FILE" */

  /* Makes a device from ARGS ("key=value,key=value", maybe empty). On a bad argument returns
   * NULL with a one-line reason in `error` (what is wrong and what is expected). */
  void* (*create)(const char* arguments, char* error, size_t error_size);
  void (*destroy)(void* device);

  /* Bytes of register space the device decodes; a mapping may not reach past it. */
  uint64_t (*size)(void* device);

  /* One access of `width` bytes (1, 2, 4 or 8) at `offset` (< size). The value is
   * little-endian in the low `width` bytes. mmiotrace splits wider accesses into 8-byte ones. */
  uint64_t (*read)(void* device, uint64_t offset, uint32_t width);
  void (*write)(void* device, uint64_t offset, uint32_t width, uint64_t value);

  /* Back to the power-on state. */
  void (*reset)(void* device);

  /* Optional (NULL when the model has no notion of time): called before each access with the
   * time, CLOCK_MONOTONIC in nanoseconds. */
  void (*advance)(void* device, uint64_t now_ns);

  /* The register map, or NULL. */
  const struct mmiotrace_register* registers;
};

/* What a plugin exports. */
typedef const struct mmiotrace_device_model* (*mmiotrace_device_model_function)(void);
#define MMIOTRACE_DEVICE_MODEL_SYMBOL "mmiotrace_device_model"

#ifdef __cplusplus
}
#endif

#endif /* MMIOTRACE_DEVICE_H */
